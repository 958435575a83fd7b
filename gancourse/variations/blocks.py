"""Building blocks of the image-to-image variations: a small U-Net, a patch discriminator, a trainer
base and the supervised baseline.

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
  that each variation is compared against.

The scores that compare the variations (:func:`gancourse.metrics.psnr`,
:func:`gancourse.metrics.gradient_energy`, :func:`gancourse.metrics.image_scores`) live in
:mod:`gancourse.metrics`, and their figure of stacked image strips
(:func:`gancourse.plot.plot_rows`) in :mod:`gancourse.plot`.

Explained in the chapter "Variations II: translation, super-resolution and inpainting".
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from gancourse.config import device as default_device
from gancourse.models import check_shape, dcgan_init, eval_mode
from gancourse.train import GANTrainer
from gancourse.train_config import TrainConfig

__all__ = ["UNet", "PatchDiscriminator", "TranslationTrainer", "reconstruction_loss", "fit_supervised",
           "translate"]

_SIZE = 28


def _check_images(x: torch.Tensor, channels: int, who: str) -> None:
    check_shape(x, ("N", channels, _SIZE, _SIZE), who, "images")


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

    - There is no noise. Snapshots and :meth:`sample` show a fixed batch of **input images**
      (``fixed_inputs``) translated, so pictures over training stay comparable. (Checkpoints keep
      them where the base trainer keeps its fixed noise.)
    - Subclasses say what a batch is through the base trainer's hooks; extra generator losses
      (:meth:`~gancourse.train.GANTrainer.g_terms`, e.g. the reconstruction loss) are recorded in
      :attr:`history` under the names in :attr:`extra_keys`. ``history["g_loss"]`` is the adversarial
      part only, comparable with the discriminator's loss.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, real: Callable, config: TrainConfig | None,
                 *, fixed_inputs: torch.Tensor, device=None):
        super().__init__(generator, discriminator, real, config, device=device)
        check_shape(fixed_inputs, ("N", "C", "H", "W"), type(self).__name__, "fixed_inputs, a batch of images,")
        self.fixed_noise = fixed_inputs.to(self.device)  # no noise here: the fixed batch is input images

    @property
    def fixed_inputs(self) -> torch.Tensor:
        """The fixed batch of input images that snapshots translate."""
        return self.fixed_noise

    def snapshot(self) -> torch.Tensor:
        """The fixed inputs translated, on the CPU."""
        return self.sample(inputs=self.fixed_inputs).cpu()

    @torch.no_grad()
    def sample(self, n: int | None = None, *, inputs: torch.Tensor | None = None) -> torch.Tensor:
        """Translate a batch of input images in eval mode: ``inputs`` if given, else the first ``n``
        fixed inputs (all of them when ``n`` is None)."""
        x = inputs if inputs is not None else self.fixed_inputs[:n]
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
    with eval_mode(generator):
        return torch.cat([generator(chunk.to(dev)).to(inputs.device) for chunk in inputs.split(batch_size)])


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
