"""gancourse: the reference library of the open GAN course.

The package mirrors the book's table of contents: one module per idea, listed here in the order the
chapters meet them.

- :mod:`gancourse.config`     device choice, seeding and the quick-mode switch (every chapter)
- :mod:`gancourse.pages`      the "In this chapter" box and computed numbers glued into the prose
- :mod:`gancourse.quiz`       check-your-understanding quizzes for the book, JupyterLab and Colab
- :mod:`gancourse.data`       the distributions and digit sets the chapters train on (Welcome)
- :mod:`gancourse.models`     MLP and DCGAN-style networks; shape checks, eval mode, freezing (Welcome,
  The discriminator, The generator)
- :mod:`gancourse.noise`      the generator's input: noise batches and latent walks (The generator)
- :mod:`gancourse.diagram`    the GAN system drawn as boxes and arrows; layer tables (GAN structure)
- :mod:`gancourse.losses`     the GAN losses from discriminator logits, and the penalties (The
  discriminator, Loss functions, Common problems)
- :mod:`gancourse.train_config` the settings of a training run, checked when made (GAN training)
- :mod:`gancourse.train`      one training loop with one extension seam, history and checkpoints
  (GAN training)
- :mod:`gancourse.checkpoint` atomic, validated checkpoint files (Scaling up)
- :mod:`gancourse.plot`       image grids, training curves, 2-D scatters and heatmaps (from GAN structure on)
- :mod:`gancourse.animation`  the original paper's 1-D figure and 2-D runs, animated (GAN training)
- :mod:`gancourse.explorer`   a GAN-Lab-style 2-D explorer (ipywidgets) (GAN training)
- :mod:`gancourse.metrics`    mode counts for 2-D mixtures; classifier score, Frechet distance and class
  coverage for digits; image sharpness and PSNR (GAN training, Common problems, Variations)
- :mod:`gancourse.classifier` the small digit classifier behind the digit metrics (weights shipped)
- :mod:`gancourse.remedies`   remedies for mode collapse and non-convergence, and the Dirac GAN (Common
  problems)
- :mod:`gancourse.dirac`      the Dirac GAN: the smallest game that fails to converge (GAN training,
  Common problems)
- :mod:`gancourse.recipes`    what the course trains, by name; side-by-side runs and seed summaries
  (Common problems, Scaling up)
- :mod:`gancourse.variations` one small model per GAN variation (Variations I and II)
- :mod:`gancourse.timeline`   the milestones of GANs, their timeline, StyleGAN's generator (GANs in context)
- :mod:`gancourse.vae`        a small variational autoencoder and its training loop (GANs in context)
- :mod:`gancourse.diffusion`  a small denoising diffusion model, DDPM (GANs in context)
- :mod:`gancourse.detection`  a small detector of generated digits, trained and scored (Using GANs responsibly)
- :mod:`gancourse.checks`     the exercise's self-checks (Programming exercise)
- :mod:`gancourse.speed`      bf16 detection and fused optimisers (Scaling up)
- :mod:`gancourse.distributed` training on several processes with torchrun (Scaling up)
- :mod:`gancourse.cli`        the ``gancourse`` command: train a recipe, resume it, save samples (Scaling up)
- :mod:`gancourse.results`    the benchmark results that the appendix "Scaling up" shows, read from benchmarks/results
"""

__version__ = "0.1.0"

from gancourse.config import QUICK, device, scaled, seed_everything  # noqa: F401
