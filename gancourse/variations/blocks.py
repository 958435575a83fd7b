"""Building blocks of the image-to-image variations: a small U-Net, a patch discriminator, a trainer
base, supervised baselines and a sharpness score.

pix2pix, CycleGAN, super-resolution and inpainting all turn one 28x28 image into another, so they
share their parts:

- :class:`UNet`, the generator: an encoder that halves the image twice, a decoder that doubles it
  back, and *skip connections* that hand each decoder stage the encoder's map of the same size, so
  fine detail does not have to squeeze through the 7x7 bottleneck (Ronneberger et al., 2015; the
  generator of pix2pix, Isola et al., 2017);
- :class:`PatchDiscriminator`: a discriminator that returns a 7x7 grid of logits, one per
  overlapping patch of the image, instead of one logit per image (pix2pix's "PatchGAN");
- :class:`TranslationTrainer`: :class:`gancourse.train.GANTrainer` for generators that take an image
  instead of noise, recording extra loss terms next to the usual history;
- :func:`fit_supervised`: the plain supervised baseline (a reconstruction loss, no discriminator)
  that each variation is compared against;
- :func:`gradient_energy`: a sharpness score, the mean squared difference between neighbouring pixels;
  :func:`psnr`, the pixel measure; :func:`image_scores`, both and the digit classifier's verdicts
  in one table row;
- :func:`plot_rows`: image strips stacked with a name per row (input, baseline, GAN, truth).

Explained in the chapter "Variations II: translation, super-resolution and inpainting".
"""

from __future__ import annotations

from typing import Callable, Mapping

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from gancourse.config import device as default_device
from gancourse.models import dcgan_init
from gancourse.plot import make_grid
from gancourse.train import GANTrainer, TrainConfig

__all__ = ["UNet", "PatchDiscriminator", "TranslationTrainer", "reconstruction_loss", "fit_supervised",
           "translate", "gradient_energy", "psnr", "image_scores", "plot_rows"]

_SIZE = 28


def _check_images(x: torch.Tensor, channels: int, who: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or tuple(x.shape[1:]) != (channels, _SIZE, _SIZE):
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{who} expects images of shape (N, {channels}, {_SIZE}, {_SIZE}), got {got}")


class UNet(nn.Module):
    """A U-Net for 28x28 images: ``(N, in_channels, 28, 28) -> (N, out_channels, 28, 28)`` in [-1, 1].

    Encoder 28 -> 14 -> 7, a 7x7 bottleneck, decoder 7 -> 14 -> 28. Each decoder stage also receives
    the encoder's map of the same size (concatenated channels), so the output can copy the input's
    layout and only has to work out what changes (Ronneberger et al., 2015; Isola et al., 2017, fig. 3).
    Batch norm and (Leaky)ReLU as in pix2pix; ``tanh`` at the end; DCGAN initialisation.

    Args:
        in_channels: channels of the input image (2 for a masked image plus its mask).
        out_channels: channels of the output image.
        width: channels of the first stage; the deeper stages have 2x and 4x as many.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, width: int = 16):
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        self.in_channels, self.out_channels = in_channels, out_channels
        w = width
        lrelu = nn.LeakyReLU(negative_slope=0.2)
        self.enc0 = nn.Sequential(nn.Conv2d(in_channels, w, kernel_size=3, padding=1), lrelu)  # (w) x 28 x 28
        self.enc1 = nn.Sequential(nn.Conv2d(w, 2 * w, kernel_size=4, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(2 * w), lrelu)  # (2w) x 14 x 14
        self.enc2 = nn.Sequential(nn.Conv2d(2 * w, 4 * w, kernel_size=4, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(4 * w), lrelu)  # (4w) x 7 x 7
        self.middle = nn.Sequential(nn.Conv2d(4 * w, 4 * w, kernel_size=3, padding=1, bias=False),
                                    nn.BatchNorm2d(4 * w), nn.ReLU())  # (4w) x 7 x 7
        self.dec2 = nn.Sequential(nn.ConvTranspose2d(8 * w, 2 * w, kernel_size=4, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(2 * w), nn.ReLU())  # (2w) x 14 x 14
        self.dec1 = nn.Sequential(nn.ConvTranspose2d(4 * w, w, kernel_size=4, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(w), nn.ReLU())  # (w) x 28 x 28
        self.out = nn.Sequential(nn.Conv2d(2 * w, out_channels, kernel_size=3, padding=1), nn.Tanh())
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, self.in_channels, "UNet")
        e0 = self.enc0(x)  # (N, w, 28, 28)
        e1 = self.enc1(e0)  # (N, 2w, 14, 14)
        e2 = self.enc2(e1)  # (N, 4w, 7, 7)
        m = self.middle(e2)  # (N, 4w, 7, 7)
        d2 = self.dec2(torch.cat([m, e2], dim=1))  # (N, 8w, 7, 7) -> (N, 2w, 14, 14)
        d1 = self.dec1(torch.cat([d2, e1], dim=1))  # (N, 4w, 14, 14) -> (N, w, 28, 28)
        return self.out(torch.cat([d1, e0], dim=1))  # (N, 2w, 28, 28) -> (N, out_channels, 28, 28)


class PatchDiscriminator(nn.Module):
    """A patch discriminator ("PatchGAN", Isola et al., 2017): one logit per overlapping patch.

    ``(N, in_channels, 28, 28) -> (N, 7, 7)``: two stride-2 convolutions and a 3x3 one, so each of the
    49 logits sees an 18x18 patch of the input and says whether *that patch* looks real. The GAN
    losses average over all of them. A whole-image discriminator gives one verdict per image; a
    patch discriminator asks for local realism (sharp strokes) everywhere and leaves the global layout
    to the reconstruction loss.

    Args:
        in_channels: 1 for an image alone, 2 for pix2pix's (input, output) pairs.
        width: channels of the first layer (the second has twice as many).

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """

    def __init__(self, in_channels: int = 1, width: int = 32):
        super().__init__()
        self.in_channels = in_channels
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, w, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(negative_slope=0.2),  # (w) x 14 x 14
            nn.Conv2d(w, 2 * w, kernel_size=4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * w), nn.LeakyReLU(negative_slope=0.2),  # (2w) x 7 x 7
            nn.Conv2d(2 * w, 1, kernel_size=3, padding=1),  # 1 x 7 x 7: one logit per patch
        )
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, self.in_channels, "PatchDiscriminator")
        return self.net(x).squeeze(1)  # (N, 1, 7, 7) -> (N, 7, 7)


def reconstruction_loss(kind: str | Callable) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The pixel loss between an output and its target: ``"l1"`` (mean absolute error, pix2pix) or
    ``"l2"`` (mean squared error, SRGAN's pixel loss and the context encoder's); a callable
    ``loss(output, target)`` is returned as it is (e.g. a loss on classifier features).

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    if callable(kind):
        return kind
    if kind == "l1":
        return F.l1_loss
    if kind == "l2":
        return F.mse_loss
    raise ValueError(f"reconstruction loss must be 'l1', 'l2' or a callable, got {kind!r}")


class TranslationTrainer(GANTrainer):
    """:class:`gancourse.train.GANTrainer` for generators that map images to images.

    What changes from the base trainer:

    - There is no noise. The base trainer's fixed noise batch becomes a fixed batch of **input
      images** (``fixed_inputs``): snapshots and :meth:`sample` show those same inputs translated,
      so pictures over training stay comparable.
    - ``generator_step`` returns the generator's adversarial loss followed by one value per name in
      :attr:`extra_keys` (e.g. the reconstruction loss); these get their own lists in
      :attr:`history`, copied to the host with the rest. ``history["g_loss"]`` is the adversarial
      part only, comparable with the discriminator's loss.

    Subclasses write ``discriminator_step`` and ``generator_step``.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """

    extra_keys: tuple[str, ...] = ()

    def __init__(self, generator: nn.Module, discriminator: nn.Module, real: Callable, config: TrainConfig | None,
                 fixed_inputs: torch.Tensor, device=None):
        super().__init__(generator, discriminator, real, config, device=device)
        if not isinstance(fixed_inputs, torch.Tensor) or fixed_inputs.dim() != 4:
            got = tuple(fixed_inputs.shape) if isinstance(fixed_inputs, torch.Tensor) else type(fixed_inputs).__name__
            raise ValueError(f"fixed_inputs must be a batch of images (N, C, H, W), got {got}")
        self.fixed_noise = fixed_inputs.to(self.device)  # no noise here: a fixed batch of inputs
        for key in self.extra_keys:
            self.history[key] = []
        self._pending_extra: list[torch.Tensor] = []

    def train_step(self) -> None:
        """k discriminator updates, then one generator update; records one history row."""
        for _ in range(self.config.d_steps):
            d_stats = self.discriminator_step()
        g_stats = self.generator_step()  # (1 + len(extra_keys),): adversarial loss, then the extras
        self.step += 1
        self._pending.append(torch.cat([d_stats[:1], g_stats[:1], d_stats[1:]]))
        self._pending_extra.append(g_stats[1:])
        if len(self._pending) >= self.config.log_every:
            self.flush()

    def flush(self) -> None:
        """Copy pending statistics, the extra loss terms included, to :attr:`history`."""
        extra, self._pending_extra = self._pending_extra, []
        super().flush()
        if extra and self.extra_keys:
            rows = torch.stack(extra).cpu()  # (n, len(extra_keys))
            for key, column in zip(self.extra_keys, rows.T.tolist()):
                self.history[key].extend(column)

    def load(self, path) -> "TranslationTrainer":
        """Restore a checkpoint written by :meth:`save` (the fixed inputs included)."""
        super().load(path)
        self._pending_extra = []
        return self

    @torch.no_grad()
    def sample(self, n: int | None = None, *, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Translate a batch of inputs in eval mode: ``noise`` if given (input images, despite the
        base trainer's name), else the first ``n`` fixed inputs (all of them when ``n`` is None)."""
        x = noise if noise is not None else self.fixed_noise[:n]
        return translate(self.generator, x.to(self.device))


@torch.no_grad()
def translate(generator: nn.Module, inputs: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Run ``generator`` on ``inputs`` in eval mode, in batches, without gradients.

    The result is on the inputs' device. Batch norm uses its running statistics, as for every figure
    and metric in the course.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    dev = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        return torch.cat([generator(chunk.to(dev)).to(inputs.device) for chunk in inputs.split(batch_size)])
    finally:
        generator.train(was_training)


def fit_supervised(generator: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, steps: int, *,
                   loss: str | Callable = "l1", batch_size: int = 64, lr: float = 2e-4,
                   betas: tuple[float, float] = (0.5, 0.999), seed: int = 0, device=None,
                   progress: bool = True) -> list[float]:
    """Train ``generator`` to map ``inputs`` to ``targets`` with a reconstruction loss alone: no discriminator.

    This is the baseline every variation is compared with: the same network, optimiser, batch size and
    number of generator updates as the GAN, with the adversarial term removed. Each step draws a
    random batch of pairs (with the trainer's seeded generator) and takes one Adam step on
    ``loss(generator(x), y)``. Returns the loss of every step (copied to the host once, at the end).
    ``progress`` shows a tqdm progress bar, as :meth:`gancourse.train.GANTrainer.train` does.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if inputs.shape[0] != targets.shape[0]:
        raise ValueError(f"inputs and targets must hold the same number of examples, got {inputs.shape[0]} "
                         f"and {targets.shape[0]}")
    dev = torch.device(device) if device is not None else default_device()
    generator.to(dev).train()
    inputs, targets = inputs.to(dev), targets.to(dev)
    criterion = reconstruction_loss(loss)
    opt = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    rng = torch.Generator(device=dev).manual_seed(seed)
    losses = []
    for _ in tqdm(range(steps), disable=not progress, desc="training (reconstruction loss only)", leave=False):
        idx = torch.randint(inputs.shape[0], (batch_size,), generator=rng, device=dev)
        value = criterion(generator(inputs[idx]), targets[idx])
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        losses.append(value.detach())
    values = torch.stack(losses).cpu() if losses else torch.zeros(0)
    if not torch.isfinite(values).all():
        raise FloatingPointError("the reconstruction loss became NaN or infinite (try a smaller learning rate)")
    return values.tolist()


@torch.no_grad()
def gradient_energy(images: torch.Tensor) -> torch.Tensor:
    """Sharpness of each image: the mean squared difference between neighbouring pixels.

    ``E(x) = mean over pixels of (x[i+1, j] - x[i, j])^2 + (x[i, j+1] - x[i, j])^2``, shape ``(N,)``.
    A crisp stroke jumps from background to ink within a pixel or two and scores high; the same
    stroke blurred into a grey ramp scores low. It is the "energy of the gradient" that camera
    autofocus maximises, and it rewards noise too: compare it with real images, where a value far
    above theirs means speckle, not sharpness.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must have shape (N, C, H, W), got {got}")
    dy = images[:, :, 1:, :] - images[:, :, :-1, :]  # (N, C, H-1, W)
    dx = images[:, :, :, 1:] - images[:, :, :, :-1]  # (N, C, H, W-1)
    return dy.pow(2).flatten(1).mean(1) + dx.pow(2).flatten(1).mean(1)


@torch.no_grad()
def psnr(images: torch.Tensor, targets: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """Peak signal-to-noise ratio of each image against its target, in decibels, shape ``(N,)``.

    ``PSNR = 10 log10(data_range^2 / MSE)``, with the MSE over each image's pixels and ``data_range``
    the span of pixel values (2 for images in [-1, 1]). Higher means closer in pixels. A blurred
    image can beat a sharp one, which is why the SRGAN paper also asked people which looked better.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must have shape (N, C, H, W), got {got}")
    if images.shape != targets.shape:
        raise ValueError(f"images and targets must have the same shape, got {tuple(images.shape)} and "
                         f"{tuple(targets.shape)}")
    mse = (images - targets).pow(2).flatten(1).mean(1).clamp_min(1e-10)  # (N,)
    return 10 * torch.log10(data_range**2 / mse)


@torch.no_grad()
def image_scores(outputs: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor, *, real: torch.Tensor | None = None,
                 classifier: nn.Module | None = None) -> dict[str, float]:
    """Score a set of 28x28 digit outputs against their targets, the way the chapter compares models.

    Returns a dict (one table row):

    - ``"L1"``: mean absolute pixel error to the target (lower: closer in pixels);
    - ``"PSNR"``: mean :func:`psnr` to the target, in dB (higher: closer in pixels);
    - ``"accuracy"``: share of outputs the digit classifier reads as their label (the digit survived);
    - ``"sharpness"``: mean :func:`gradient_energy` of the outputs over that of ``real`` (default the
      targets): 1 is as sharp as real digits, below 1 blurred, far above 1 speckled;
    - ``"FCD"``: :func:`gancourse.metrics.frechet_classifier_distance` between ``real`` and the
      outputs (lower: the outputs, as a set, look more like real digits).

    Outputs are clamped to [-1, 1] first. ``classifier`` defaults to the shipped digit classifier.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    from gancourse.classifier import load_digit_classifier
    from gancourse.metrics import frechet_classifier_distance

    if outputs.shape != targets.shape or labels.shape[0] != outputs.shape[0]:
        raise ValueError(f"need one target and one label per output, got outputs {tuple(outputs.shape)}, "
                         f"targets {tuple(targets.shape)}, labels {tuple(labels.shape)}")
    outputs = outputs.clamp(-1, 1)
    real = targets if real is None else real
    model = classifier if classifier is not None else load_digit_classifier(outputs.device)
    predicted = torch.cat([model(chunk).argmax(dim=1) for chunk in outputs.split(500)])
    return {
        "L1": (outputs - targets).abs().mean().item(),
        "PSNR": psnr(outputs, targets).mean().item(),
        "accuracy": (predicted == labels.to(predicted.device)).float().mean().item(),
        "sharpness": (gradient_energy(outputs).mean() / gradient_energy(real).mean()).item(),
        "FCD": frechet_classifier_distance(real, outputs, classifier=model),
    }


def plot_rows(rows: Mapping[str, torch.Tensor], title: str | None = None, xlabel: str | None = None,
              axes_width: float = 0.62) -> plt.Figure:
    """Stack image strips, one per entry of ``rows`` (name -> images ``(n, C, H, W)`` in [-1, 1]).

    Each strip is drawn with :func:`gancourse.plot.make_grid` in one row; its name labels the row on
    the left. Images of any size are shown at the same width (a 7x7 input beside 28x28 outputs), with
    nearest-neighbour pixels so that nothing is smoothed for display.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    if not rows:
        raise ValueError("rows must hold at least one name -> images entry")
    n = max(len(images) for images in rows.values())
    fig, axes = plt.subplots(len(rows), 1, figsize=(axes_width * n + 1.6, 0.75 * len(rows) + 0.6), squeeze=False)
    for ax, (name, images) in zip(axes[:, 0], rows.items()):
        grid = make_grid(images, nrow=n, padding=max(1, images.shape[-1] // 14), pad_value=1.0)
        ax.imshow(grid[..., 0].numpy(), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest", aspect="auto")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
    if xlabel:
        axes[-1, 0].set_xlabel(xlabel)
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    return fig
