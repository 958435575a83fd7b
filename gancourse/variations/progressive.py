"""Progressive GAN: learn the coarse picture first, then add detail (Karras et al., 2018).

Training starts with tiny images, here 7x7, where a few steps are enough to get the overall shape
right. Then both networks *grow*: the generator gets a new block that doubles the resolution (14x14,
then 28x28) and the discriminator gets a matching new block at its input. The layers already trained
are kept.

A new block is not switched on at once, which would hit the trained layers with the output of a
random one. It is **faded in** with a weight ``alpha`` that rises from 0 to 1 (the paper's Figure 2):

- generator: ``out = alpha * to_image(new_block(h)) + (1 - alpha) * upsample(to_image_old(h))``;
- discriminator: ``h = alpha * new_block(from_image(x)) + (1 - alpha) * from_image_old(downsample(x))``;
- the real images are blended the same way (:func:`real_at`), so that D compares like with like.

At ``alpha = 0`` the grown networks compute exactly what the smaller ones did; at ``alpha = 1`` the
new block has taken over.

The networks follow the paper in miniature: LeakyReLU(0.2), pixel-wise feature normalisation in G
(section 4.2), fewer channels at higher resolutions, and a 1x1 convolution ("toRGB" / "fromRGB",
here to and from one grey channel) at each resolution. To stay fast on a CPU, each block changes the
resolution with one stride-2 (transposed) convolution, as DCGAN does, where the paper upsamples (or
average-pools) and applies two 3x3 convolutions. The paper's equalised learning rate and minibatch
standard deviation are left out to keep the code short.

Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gancourse.models import check_shape
from gancourse.train import GANTrainer

__all__ = ["RESOLUTIONS", "ProgressiveGenerator", "ProgressiveDiscriminator", "real_at", "ProgressiveSource",
           "set_stage", "fade_schedule", "train_progressive"]

#: The image sizes of the three stages.
RESOLUTIONS = (7, 14, 28)


class PixelNorm(nn.Module):
    """Scale each pixel's feature vector to unit average square: ``a / sqrt(mean_c(a^2) + eps)``.

    The generator's normalisation in progressive growing (Karras et al., 2018, section 4.2), used in
    place of batch norm: it keeps the feature magnitudes from escalating while G and D compete.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return a * torch.rsqrt(a.pow(2).mean(dim=1, keepdim=True) + 1e-8)


def _conv(c_in: int, c_out: int, norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1), nn.LeakyReLU(negative_slope=0.2)]
    return layers + [PixelNorm()] if norm else layers


def _up(c_in: int, c_out: int) -> nn.Sequential:
    """Double the resolution: a stride-2 transposed convolution, LeakyReLU(0.2), pixel norm."""
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1),
                         nn.LeakyReLU(negative_slope=0.2), PixelNorm())


def _down(c_in: int, c_out: int) -> nn.Sequential:
    """Halve the resolution: a stride-2 convolution, LeakyReLU(0.2)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(negative_slope=0.2))


def _channels(width: int) -> tuple[int, int, int]:
    """Feature channels at 7x7, 14x14 and 28x28: ``width``, ``width // 2``, ``width // 4``."""
    if not isinstance(width, int) or width < 4:
        raise ValueError(f"width must be an int >= 4, got {width!r}")
    return width, width // 2, width // 4


class _Growing(nn.Module):
    """What both growing networks share: the current ``stage`` (0, 1, 2) and fade-in weight ``alpha``."""

    def __init__(self):
        super().__init__()
        self.stage, self.alpha = 0, 1.0

    @property
    def resolution(self) -> int:
        """Side of the images at the current stage: 7, 14 or 28."""
        return RESOLUTIONS[self.stage]

    def set_stage(self, stage: int, alpha: float = 1.0) -> None:
        """Switch to ``stage`` (0: 7x7, 1: 14x14, 2: 28x28) with the newest block weighted by ``alpha``."""
        if stage not in range(len(RESOLUTIONS)):
            raise ValueError(f"stage must be 0, 1 or 2, got {stage!r}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
        self.stage, self.alpha = stage, float(alpha)


class ProgressiveGenerator(_Growing):
    """A generator that grows from 7x7 to 14x14 to 28x28 images in [-1, 1].

    ``forward(z)`` returns images at the current resolution, ``(N, 1, r, r)``; call
    :meth:`set_stage` (or :func:`set_stage` for both networks) to grow.

    Args:
        latent_dim: size of the noise z.
        width: feature channels at 7x7; each doubling of the resolution halves them (as in the
            paper, the large images get the thin layers, where every channel costs the most).

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """

    def __init__(self, latent_dim: int = 64, width: int = 64):
        super().__init__()
        self.latent_dim = latent_dim
        c7, c14, c28 = _channels(width)
        self.project = nn.Linear(latent_dim, c7 * 7 * 7)
        self.stem = nn.Sequential(nn.LeakyReLU(negative_slope=0.2), PixelNorm(),
                                  *_conv(c7, c7, norm=True))  # c7 x 7 x 7
        self.blocks = nn.ModuleList([
            _up(c7, c14),  # c14 x 14 x 14
            _up(c14, c28),  # c28 x 28 x 28
        ])
        self.to_image = nn.ModuleList([nn.Conv2d(c, 1, kernel_size=1) for c in (c7, c14, c28)])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_shape(z, ("N", self.latent_dim), "ProgressiveGenerator", "noise")
        h = self.stem(self.project(z).view(z.shape[0], -1, 7, 7))  # (N, c7, 7, 7)
        s = self.stage
        for block in self.blocks[:max(s - 1, 0)]:  # the blocks that are fully grown
            h = block(h)
        if s == 0:
            return torch.tanh(self.to_image[0](h))  # (N, 1, 7, 7)
        out = self.to_image[s](self.blocks[s - 1](h))  # the newest block: (N, 1, r, r)
        if self.alpha < 1.0:
            # (N, 1, r/2, r/2) -> (N, 1, r, r)
            old = F.interpolate(self.to_image[s - 1](h), scale_factor=2, mode="nearest")
            out = self.alpha * out + (1 - self.alpha) * old
        return torch.tanh(out)


class ProgressiveDiscriminator(_Growing):
    """A discriminator that grows with the generator: it reads ``(N, 1, r, r)`` images at the current
    resolution and returns logits ``(N,)``.

    Args:
        width: feature channels at 7x7, halved at 14x14 and again at 28x28.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """

    def __init__(self, width: int = 64):
        super().__init__()
        c7, c14, c28 = _channels(width)
        self.from_image = nn.ModuleList([
            nn.Sequential(nn.Conv2d(1, c, kernel_size=1), nn.LeakyReLU(negative_slope=0.2)) for c in (c7, c14, c28)
        ])
        self.blocks = nn.ModuleList([  # blocks[k] takes resolution RESOLUTIONS[k + 1] down to RESOLUTIONS[k]
            _down(c14, c7),  # c14 x 14 x 14 -> c7 x 7 x 7
            _down(c28, c14),  # c28 x 28 x 28 -> c14 x 14 x 14
        ])
        self.head = nn.Sequential(*_conv(c7, c7, norm=False), nn.Flatten(), nn.Linear(c7 * 7 * 7, 1))  # c7 x 7 x 7 -> 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r, s = self.resolution, self.stage
        check_shape(x, ("N", 1, r, r), f"ProgressiveDiscriminator at stage {s}", "images")
        h = self.from_image[s](x)
        if s > 0:
            h = self.blocks[s - 1](h)  # the newest block: (N, c_r, r, r) -> (N, c_r/2, r/2, r/2)
            if self.alpha < 1.0:
                old = self.from_image[s - 1](F.avg_pool2d(x, kernel_size=2))  # the image at r/2, read the old way
                h = self.alpha * h + (1 - self.alpha) * old
            for k in reversed(range(s - 1)):  # the blocks that are fully grown
                h = self.blocks[k](h)
        return self.head(h).squeeze(1)  # (N, c7, 7, 7) -> (N,)


def real_at(images: torch.Tensor, resolution: int, alpha: float = 1.0) -> torch.Tensor:
    """Real 28x28 images ``(N, 1, 28, 28)`` as the discriminator sees them at ``resolution``.

    Average pooling shrinks them to ``resolution``; during a fade-in (``alpha < 1``) they are blended
    with their half-resolution version, upsampled, just as the generator's output is:
    ``alpha * down(x, r) + (1 - alpha) * up(down(x, r / 2))``.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}, got {resolution!r}")
    if images.dim() != 4 or images.shape[-1] != 28 or images.shape[-2] != 28:
        raise ValueError(f"images must have shape (N, C, 28, 28), got {tuple(images.shape)}")
    x = F.avg_pool2d(images, kernel_size=28 // resolution)  # (N, C, r, r)
    if alpha < 1.0 and resolution > RESOLUTIONS[0]:
        coarse = F.interpolate(F.avg_pool2d(x, kernel_size=2), scale_factor=2, mode="nearest")
        x = alpha * x + (1 - alpha) * coarse
    return x


class ProgressiveSource:
    """A real-data source for :class:`gancourse.train.GANTrainer` that follows a growing network.

    ``source(batch_size, generator)`` draws 28x28 images from ``images`` (any source with that
    signature, e.g. a :class:`gancourse.data.TensorSampler`) and returns ``real_at(x, net.resolution,
    net.alpha)``.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """

    def __init__(self, images: Callable, net: _Growing):
        self.images, self.net = images, net

    def __call__(self, batch_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return real_at(self.images(batch_size, generator), self.net.resolution, self.net.alpha)


def set_stage(generator: _Growing, discriminator: _Growing, stage: int, alpha: float = 1.0) -> None:
    """Put both networks at the same ``stage`` and fade-in weight ``alpha``.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    generator.set_stage(stage, alpha)
    discriminator.set_stage(stage, alpha)


def fade_schedule(step: int, fade_steps: int) -> float:
    """The fade-in weight after ``step`` steps of a new stage: ``min(1, (step + 1) / fade_steps)``.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    if fade_steps < 1:
        return 1.0
    return min(1.0, (step + 1) / fade_steps)


def train_progressive(trainer: GANTrainer, steps: Sequence[int], fade_fraction: float = 0.5,
                      callback: Callable | None = None) -> dict[int, torch.Tensor]:
    """Train stage by stage: ``steps[k]`` steps at ``RESOLUTIONS[k]``, fading each new block in.

    In stage k > 0 the new blocks' weight ``alpha`` rises linearly to 1 over the first
    ``fade_fraction * steps[k]`` steps, then stays at 1. The trainer's networks must be a
    :class:`ProgressiveGenerator` and a :class:`ProgressiveDiscriminator`, and its real data a
    :class:`ProgressiveSource`.

    After each stage ``callback(trainer, stage)`` is called, if given. Returns the samples of the
    trainer's fixed noise at the end of each stage, ``{resolution: (n_fixed, 1, r, r)}``, on the CPU.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    if len(steps) != len(RESOLUTIONS):
        raise ValueError(f"steps must give one step count per stage ({len(RESOLUTIONS)}), got {list(steps)}")
    if not 0.0 <= fade_fraction <= 1.0:
        raise ValueError(f"fade_fraction must lie in [0, 1], got {fade_fraction!r}")
    samples = {}
    for stage, n in enumerate(steps):
        fade_steps = round(fade_fraction * n) if stage > 0 else 0
        for i in range(n):
            set_stage(trainer.generator, trainer.discriminator, stage, fade_schedule(i, fade_steps))
            trainer.train_step()
        trainer.flush()
        set_stage(trainer.generator, trainer.discriminator, stage, 1.0)
        samples[RESOLUTIONS[stage]] = trainer.sample(noise=trainer.fixed_noise).cpu()
        if callback is not None:
            callback(trainer, stage)
    return samples
