"""pix2pix: paired image-to-image translation (Isola et al., 2017).

Some tasks come with pairs: for every input image x (an outline, a map, a grey photo) we know the
output y it should become. A plain network trained to minimise the pixel error ``|G(x) - y|`` learns
the *average* of all the outputs that fit an input, and where the input leaves details open that
average is a blur. pix2pix adds a discriminator that judges pairs:

- G is a :class:`~gancourse.variations.blocks.UNet`; it receives x and draws ``G(x)``;
- D is a :class:`~gancourse.variations.blocks.PatchDiscriminator` with two input channels: it reads
  the input and an output stacked, ``D(x, y)``, and says, patch by patch, whether y is a real
  output *for this x*;
- G minimises ``L_GAN(G) + lambda * E|G(x) - y|`` (the paper's equation 4, ``lambda = 100``): the L1
  term keeps the output close to the truth, the adversarial term forbids the blur, which no real
  image has.

The paper's G also gets noise through dropout; it found that G learns to ignore it, and so do we:
our G has no noise and is deterministic.

The paired task here is made from the digits themselves, with torch operations only:
:func:`silhouettes` turns each digit into a rough, blocky mask of where its ink is (the course's
example is a blob in the shape of a car turned into a photo of a car), and the model learns to draw
a handwritten digit inside the mask.

:class:`PairedGANTrainer`, written for pix2pix, also trains the super-resolution and inpainting
models of :mod:`gancourse.variations.super_resolution` and :mod:`gancourse.variations.inpainting`:
all three are "a reconstruction loss plus an adversarial loss" on pairs.

Explained in the chapter "Variations II: translation, super-resolution and inpainting".
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from gancourse.config import device as default_device
from gancourse.data import TensorSampler
from gancourse.models import check_shape
from gancourse.train_config import TrainConfig
from gancourse.variations.blocks import TranslationTrainer, reconstruction_loss

__all__ = ["silhouettes", "PairedGANTrainer"]


@torch.no_grad()
def silhouettes(images: torch.Tensor, block: int = 4, threshold: float = 0.0) -> torch.Tensor:
    """A rough, blocky mask of where each digit's ink is: ``(N, 1, H, W)`` -> ``(N, 1, H, W)`` in {-1, 1}.

    The image is cut into ``block x block`` squares; a square is ink (1) when any of its pixels is
    brighter than ``threshold`` and background (-1) otherwise: a max-pool over the squares, then each
    square is blown back up to its pixels (nearest-neighbour). The mask says *where* the digit is,
    to within ``block`` pixels, but not where inside a square its stroke runs nor how thick it is.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    check_shape(images, ("N", "C", "H", "W"), "silhouettes", "images")
    if not isinstance(block, int) or block < 1 or images.shape[-1] % block or images.shape[-2] % block:
        raise ValueError(f"block must be a positive int dividing the image size {tuple(images.shape[-2:])}, "
                         f"got {block!r}")
    ink = (images > threshold).float()  # (N, C, H, W), 1 on the strokes
    coarse = F.max_pool2d(ink, kernel_size=block)  # (N, C, H/block, W/block): any ink in the square?
    return F.interpolate(coarse, scale_factor=block, mode="nearest") * 2 - 1  # back to (N, C, H, W)


class PairedGANTrainer(TranslationTrainer):
    """Train ``G(x) -> y`` on pairs with an adversarial loss plus ``recon_weight`` times a reconstruction loss.

    - D step: a batch of pairs (x, y); D learns to call ``(x, y)`` real and ``(x, G(x))`` fake (G's
      output is detached, so G is not updated).
    - G step: D frozen; G minimises ``L_G(D(x, G(x))) + recon_weight * recon(G(x), y)``.

    Both updates are the base trainer's: this class only fills in its hooks (a real example is a
    target, its context the input; :meth:`g_terms` adds the reconstruction loss), so mixed precision,
    channels-last and several processes come from the base.

    With ``conditional=True`` (pix2pix) D reads input and output stacked as channels, so it can
    tell a real digit that does not fit its outline from one that does; inputs and outputs must
    then have the same height and width. With ``conditional=False`` D sees the output alone (SRGAN,
    and the context encoder, whose completed image already contains its input).

    ``history`` gets a ``"recon"`` list (the reconstruction loss of every G step) next to the base
    trainer's; ``history["g_loss"]`` is the adversarial part alone.

    Args:
        generator: maps inputs ``(N, C, h, w)`` to outputs ``(N, C', H, W)``.
        discriminator: maps ``(N, C + C', H, W)`` (conditional) or ``(N, C', H, W)`` to logits.
        inputs, targets: the training pairs, one target per input (same first dimension).
        config: a :class:`gancourse.train_config.TrainConfig` (its ``latent_dim`` and ``noise`` are unused).
        recon_weight: lambda, the weight of the reconstruction loss (100 in pix2pix).
        recon: ``"l1"``, ``"l2"`` or a callable ``loss(output, target)``.
        conditional: whether D also reads the input.
        fixed_inputs: inputs shown in snapshots; default the first ``config.n_fixed`` inputs.
        device: where to train; default :func:`gancourse.config.device`.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """

    extra_keys = ("recon",)

    def __init__(self, generator: nn.Module, discriminator: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
                 config: TrainConfig | None = None, *, recon_weight: float = 100.0, recon: str | Callable = "l1",
                 conditional: bool = True, fixed_inputs: torch.Tensor | None = None, device=None):
        if not isinstance(inputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
            raise ValueError("inputs and targets must be tensors of images (N, C, H, W)")
        if inputs.shape[0] != targets.shape[0]:
            raise ValueError(f"inputs and targets must hold the same number of examples, got {inputs.shape[0]} "
                             f"and {targets.shape[0]}")
        if conditional and inputs.shape[2:] != targets.shape[2:]:
            raise ValueError(f"a conditional discriminator stacks input and output, so they need the same size; got "
                             f"inputs {tuple(inputs.shape[2:])} and targets {tuple(targets.shape[2:])} "
                             "(use conditional=False)")
        if recon_weight < 0:
            raise ValueError(f"recon_weight must be >= 0, got {recon_weight}")
        config = config if config is not None else TrainConfig()
        dev = torch.device(device) if device is not None else default_device()
        self.pairs = TensorSampler(inputs, targets, device=dev)  # its "labels" are the targets
        if fixed_inputs is None:
            fixed_inputs = inputs[:config.n_fixed]
        super().__init__(generator, discriminator, self.pairs, config, fixed_inputs=fixed_inputs, device=dev)
        self.recon_weight, self.conditional = recon_weight, conditional
        self.recon = reconstruction_loss(recon)

    # The hooks of GANTrainer: a real example is a target y, its context the input x it belongs to.
    def real_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` pairs, as ``(targets y, inputs x)``."""
        x, y = self.pairs.sample_with_labels(n, self.rng)
        return y, x

    def g_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """G's update also takes pairs: the inputs to translate and the targets to reconstruct."""
        return self.real_batch(n)

    def generate(self, g: nn.Module, x: torch.Tensor, n: int) -> torch.Tensor:
        """``G(x)``: no noise, the output is a function of the input."""
        return g(x)

    def judge(self, d: nn.Module, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """D's logits for outputs ``y`` of inputs ``x``: ``D([x, y])`` if conditional, else ``D(y)``."""
        return d(torch.cat([x, y], dim=1) if self.conditional else y)

    def g_terms(self, fake: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> dict[str, tuple[float, torch.Tensor]]:
        """The reconstruction loss ``recon(G(x), y)``, weighted by ``recon_weight``."""
        return {"recon": (self.recon_weight, self.recon(fake, y))}
