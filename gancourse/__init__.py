"""gancourse: the reference library of the open GAN course.

The package mirrors the book's table of contents: one module per idea.

- :mod:`gancourse.config`  device choice, seeding and the quick-mode switch
- :mod:`gancourse.data`    the distributions and digit sets the chapters train on
- :mod:`gancourse.models`  MLP and DCGAN-style generators and discriminators
- :mod:`gancourse.losses`  the GAN losses, written from discriminator logits
- :mod:`gancourse.train`   one readable training loop, with history and checkpoints
- :mod:`gancourse.plot`    image grids, training curves and 2-D heatmaps
- :mod:`gancourse.diagram`  the GAN system drawn as boxes and arrows
- :mod:`gancourse.animation` the original paper's 1-D figure and 2-D runs, animated
- :mod:`gancourse.explorer` a GAN-Lab-style 2-D explorer (ipywidgets)
- :mod:`gancourse.metrics`  mode counts for 2-D mixtures; classifier score, Frechet distance and
  class coverage for digits
- :mod:`gancourse.classifier` the small digit classifier behind the digit metrics (weights shipped)
- :mod:`gancourse.quiz`     check-your-understanding quizzes for the book, JupyterLab and Colab
- :mod:`gancourse.pages`    the "In this chapter" box and computed numbers glued into the prose
- :mod:`gancourse.results`  the benchmark results that the appendix "Scaling up" shows, read from benchmarks/results
"""

__version__ = "0.1.0"

from gancourse.config import QUICK, device, scaled, seed_everything  # noqa: F401
