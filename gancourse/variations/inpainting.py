"""Inpainting: fill in a missing part of an image (context encoders, Pathak et al., 2016).

A square in the middle of each digit is blanked out; the generator sees the rest (the *context*)
and paints the hole. Pathak et al. trained it with two losses:

- a reconstruction loss, the squared error between the painted hole and what was really there,
  which gets the rough shape right but, since many strokes could continue the context, paints their
  average: a grey smudge;
- an adversarial loss from a discriminator that judges the completed image, which rejects smudges
  and so pushes the generator to commit to one crisp stroke.

Their joint loss is ``0.999 * L_rec + 0.001 * L_adv``; the weights that work depend on the data and
on the scale of each loss, and the chapter picks its own.

- :func:`center_mask` is the hole: a square of ones in a field of zeros;
- :func:`mask_images` blanks the hole and stacks the mask as a second channel, so the generator
  knows where to paint;
- :class:`InpaintingGenerator` is a :class:`~gancourse.variations.blocks.UNet` whose output is
  pasted into the hole only: outside it the completed image *is* the input, so the reconstruction
  loss on the whole image is the loss on the hole.

The model is trained with :class:`gancourse.variations.pix2pix.PairedGANTrainer` and
``conditional=False``: the completed image already holds its context. (The context encoder was an
encoder-decoder without skip connections; the U-Net's skips just pass the context along.)

Explained in the chapter "Variations II: translation, super-resolution and inpainting".
"""

from __future__ import annotations

import torch
from torch import nn

from gancourse.models import check_shape
from gancourse.variations.blocks import UNet

__all__ = ["center_mask", "mask_images", "InpaintingGenerator"]

#: Value written into the hole: 0 is the middle of [-1, 1], a grey that no digit pixel is made of.
HOLE_VALUE = 0.0


def center_mask(size: int = 28, hole: int = 12) -> torch.Tensor:
    """A ``(1, 1, size, size)`` mask: 1 in a centred ``hole x hole`` square (to be painted), 0 elsewhere.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    if not 0 < hole <= size:
        raise ValueError(f"hole must be between 1 and size={size}, got {hole}")
    mask = torch.zeros(1, 1, size, size)
    top = (size - hole) // 2
    mask[..., top:top + hole, top:top + hole] = 1.0
    return mask


def mask_images(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Blank the hole and stack the mask: ``(N, 1, H, W)`` images -> ``(N, 2, H, W)`` generator inputs.

    Channel 0 is the image with the hole set to grey (:data:`HOLE_VALUE`), channel 1 is the mask
    (1 in the hole). ``mask`` is ``(1, 1, H, W)`` (one hole for all) or ``(N, 1, H, W)``.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    check_shape(images, ("N", 1, "H", "W"), "mask_images", "images")
    if (mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[2:] != images.shape[2:]
            or mask.shape[0] not in (1, images.shape[0])):
        raise ValueError(f"mask must have shape (1, 1, H, W) or (N, 1, H, W) matching images {tuple(images.shape)}, "
                         f"got {tuple(mask.shape)}")
    mask = mask.to(images.device, images.dtype).expand_as(images)
    blanked = images * (1 - mask) + HOLE_VALUE * mask
    return torch.cat([blanked, mask], dim=1)  # (N, 2, H, W)


class InpaintingGenerator(nn.Module):
    """Paint the hole: ``(N, 2, 28, 28)`` (blanked image, mask) -> ``(N, 1, 28, 28)`` completed image.

    A :class:`~gancourse.variations.blocks.UNet` draws a whole image ``u``; only its hole is kept:
    ``output = image * (1 - mask) + u * mask``. The known pixels pass through untouched.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """

    def __init__(self, width: int = 16):
        super().__init__()
        self.net = UNet(in_channels=2, out_channels=1, width=width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_shape(x, ("N", 2, 28, 28), "InpaintingGenerator", "(blanked image, mask)")
        image, mask = x[:, :1], x[:, 1:]  # (N, 1, 28, 28) each
        painted = self.net(x)  # (N, 1, 28, 28)
        return image * (1 - mask) + painted * mask
