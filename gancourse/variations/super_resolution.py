"""Super-resolution with an adversarial and a content loss (SRGAN, Ledig et al., 2017).

Shrinking an image throws detail away: many sharp 28x28 digits average down to the same 7x7 one.
A network trained only to minimise the pixel error to the original (the *content* loss) therefore
learns the average of all of them, which is blurred, although it scores best on pixel measures such
as the PSNR. SRGAN adds a discriminator that has only ever seen real high-resolution images: the
generator must now produce something that *looks* sharp, so it draws one plausible set of edges
where the input leaves them open, and may invent detail that the original did not have.

- :func:`downsample` makes the low-resolution inputs (average pooling, 28x28 -> 7x7 by default);
- :func:`bicubic` is the classical baseline, ``torch.nn.functional.interpolate(mode="bicubic")``;
- :class:`SRGenerator` first enlarges the input with bicubic interpolation and then lets a
  :class:`~gancourse.variations.blocks.UNet` redraw it (SRGAN's generator upsamples with learned
  sub-pixel convolutions instead; starting from the bicubic image keeps ours small);
- :func:`gancourse.metrics.psnr` is the pixel measure; :func:`gancourse.metrics.gradient_energy`
  and the digit classifier's Fréchet distance (:func:`gancourse.metrics.frechet_classifier_distance`)
  judge what PSNR misses.

The model is trained with :class:`gancourse.variations.pix2pix.PairedGANTrainer` with
``conditional=False``: as in SRGAN, the discriminator sees high-resolution images only.

Explained in the chapter "Variations II: translation, super-resolution and inpainting".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gancourse.models import check_shape
from gancourse.variations.blocks import UNet

__all__ = ["downsample", "bicubic", "SRGenerator"]


def downsample(images: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """Shrink images by ``factor`` with average pooling: ``(N, C, H, W) -> (N, C, H/factor, W/factor)``.

    Each low-resolution pixel is the mean of a ``factor x factor`` block, the way a coarser camera
    sensor would see it. With the default 4, a 28x28 digit becomes 7x7 (SRGAN's factor as well).

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    check_shape(images, ("N", "C", "H", "W"), "downsample", "images")
    if not isinstance(factor, int) or factor < 1 or images.shape[-1] % factor or images.shape[-2] % factor:
        raise ValueError(f"factor must be a positive int dividing the image size {tuple(images.shape[-2:])}, "
                         f"got {factor!r}")
    return F.avg_pool2d(images, kernel_size=factor)


def bicubic(low: torch.Tensor, size: int = 28) -> torch.Tensor:
    """Enlarge images to ``size x size`` with bicubic interpolation, clamped to [-1, 1].

    ``torch.nn.functional.interpolate(mode="bicubic", align_corners=False)``: each new pixel is a
    weighted sum of the 4x4 nearest old ones along a smooth cubic curve. It invents no detail, so
    edges come out soft. Bicubic weights overshoot a little near edges, hence the clamp.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    check_shape(low, ("N", "C", "H", "W"), "bicubic", "images")
    return F.interpolate(low, size=(size, size), mode="bicubic", align_corners=False).clamp(-1, 1)


class SRGenerator(nn.Module):
    """A super-resolution generator: ``(N, 1, h, w) -> (N, 1, 28, 28)``, bicubic enlargement then a U-Net.

    Args:
        in_size: side of the low-resolution input (7 for 4x, 14 for 2x).
        width: width of the :class:`~gancourse.variations.blocks.UNet`.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """

    def __init__(self, in_size: int = 7, width: int = 16):
        super().__init__()
        self.in_size = in_size
        self.net = UNet(in_channels=1, out_channels=1, width=width)

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        check_shape(low, ("N", 1, self.in_size, self.in_size), "SRGenerator", "images")
        return self.net(bicubic(low))  # (N, 1, h, w) -> (N, 1, 28, 28) -> (N, 1, 28, 28)
