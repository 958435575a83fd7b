"""CycleGAN: translation between two sets of images that come without pairs (Zhu et al., 2017).

pix2pix needs, for every input, the output it should become. Often there are only two separate
collections (horses and zebras, summer and winter photos) and no image in one has a partner in the
other. CycleGAN trains two generators and two discriminators:

- ``G_AB`` turns an image of domain A into one of domain B, and ``D_B`` tells real B images from
  translated ones; ``G_BA`` and ``D_A`` do the same the other way;
- the adversarial losses alone only ask that translations look like *some* image of the other
  domain. The **cycle-consistency** loss asks that a round trip comes back where it started,
  ``G_BA(G_AB(a)) ~ a`` and ``G_AB(G_BA(b)) ~ b``, measured with an L1 loss and weighted by
  ``lambda = 10`` in the paper. A translation that forgot which digit it was given could not be
  undone, so the cycle keeps the content and leaves only the style to change;
- an optional **identity** loss, ``G_AB(b) ~ b`` and ``G_BA(a) ~ a``, asks a generator to leave
  alone an image that is already in its target domain (the paper uses it, weighted ``lambda / 2``,
  for paintings and photos).

The paper uses the least-squares GAN loss and keeps a pool of past fakes for the discriminators;
we keep the loss (``TrainConfig(loss="least_squares")``) and leave out the pool.

Our two domains come from the digits, built offline: thin strokes (:func:`thin_strokes`) and thick
strokes (:func:`thick_strokes`), made from two *disjoint* halves of the digits
(:func:`unpaired_domains`), so that no thin digit has its own thick version on the other side.
:func:`ink_fraction` measures where a digit stands between the two.

Explained in the chapter "Variations II: translation, super-resolution and inpainting".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gancourse.config import device as default_device
from gancourse.data import TensorSampler
from gancourse.models import check_shape, frozen
from gancourse.train_config import TrainConfig
from gancourse.variations.blocks import TranslationTrainer, translate

__all__ = ["thin_strokes", "thick_strokes", "ink_fraction", "unpaired_domains", "CycleGANTrainer"]


def thin_strokes(images: torch.Tensor) -> torch.Tensor:
    """Thinner strokes by grey-scale erosion: each pixel becomes the minimum of its 2x2 neighbourhood.

    Erosion is a max-pool of the negated image, ``-max_pool(-x)``; ink (bright) survives only where all
    four pixels of the square are ink, so every stroke loses about one pixel of width. Same shape out.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    check_shape(images, ("N", "C", "H", "W"), "thin_strokes", "images")
    padded = F.pad(-images, (0, 1, 0, 1), value=1.0)  # pad with background (-1, negated: +1)
    return -F.max_pool2d(padded, kernel_size=2, stride=1)


def thick_strokes(images: torch.Tensor) -> torch.Tensor:
    """Thicker strokes by grey-scale dilation: each pixel becomes the maximum of its 3x3 neighbourhood.

    A 3x3 max-pool with stride 1: every stroke grows by one pixel on each side. Same shape out.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    check_shape(images, ("N", "C", "H", "W"), "thick_strokes", "images")
    return F.max_pool2d(images, kernel_size=3, stride=1, padding=1)


@torch.no_grad()
def ink_fraction(images: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
    """The share of each image's pixels that are ink (brighter than ``threshold``), shape ``(N,)``.

    Thick strokes cover more of the image than thin ones, so this number places a digit between the
    two domains.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    check_shape(images, ("N", "C", "H", "W"), "ink_fraction", "images")
    return (images > threshold).float().flatten(1).mean(1)


def unpaired_domains(images: torch.Tensor, labels: torch.Tensor, seed: int = 0):
    """Two unpaired domains from one set of digits: thin strokes (A) and thick strokes (B).

    The digits are shuffled with a ``torch.Generator`` seeded with ``seed`` and cut in two halves:
    the first half is thinned (:func:`thin_strokes`), the second thickened (:func:`thick_strokes`).
    No digit appears in both domains, so there are no pairs to learn from.

    Returns ``(domain_a, labels_a, domain_b, labels_b)``; the labels are only for measuring whether a
    translation keeps the digit, never for training.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    check_shape(images, ("N", "C", "H", "W"), "unpaired_domains", "images")
    if labels.shape[0] != images.shape[0] or images.shape[0] < 2:
        raise ValueError(f"need at least 2 images and one label per image, got {images.shape[0]} images and "
                         f"{labels.shape[0]} labels")
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed)).to(images.device)
    half = images.shape[0] // 2
    a, b = order[:half], order[half:]
    return thin_strokes(images[a]), labels[a], thick_strokes(images[b]), labels[b]


class CycleGANTrainer(TranslationTrainer):
    """Train two generators and two discriminators on unpaired domains A and B (Zhu et al., 2017).

    - D step: ``D_A`` learns real A vs ``G_BA(b)``, ``D_B`` learns real B vs ``G_AB(a)``; the two losses
      are added. The generators are not updated.
    - G step: both discriminators frozen; the generators minimise

      ``L_G(D_B(G_AB(a))) + L_G(D_A(G_BA(b)))``
      ``+ cycle_weight * (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|)``
      ``+ identity_weight * (|G_AB(b) - b| + |G_BA(a) - a|)``

      (means over pixels) with one optimiser over both generators, as in the paper.

    The pairs of networks are kept as ``trainer.generator["ab"]``, ``["ba"]`` and
    ``trainer.discriminator["a"]``, ``["b"]`` (``nn.ModuleDict``), so checkpoints and the base loop
    work unchanged. ``history`` gains ``"cycle"`` and ``"identity"``; ``"g_loss"`` is the sum of the
    two adversarial terms, ``"d_loss"`` the sum of the two discriminator losses, and the accuracies
    pool both discriminators. Snapshots and :meth:`sample` show ``G_AB`` on fixed A images.

    Args:
        g_ab, g_ba: generators A -> B and B -> A (e.g. :class:`~gancourse.variations.blocks.UNet`).
        d_a, d_b: discriminators for domain A and domain B.
        domain_a, domain_b: the two image sets ``(N_A, C, H, W)`` and ``(N_B, C, H, W)``, unpaired.
        config: a :class:`gancourse.train_config.TrainConfig` (the paper: ``loss="least_squares"``).
        cycle_weight: lambda of the cycle-consistency loss (10 in the paper).
        identity_weight: weight of the identity loss (0 switches it off and skips its computation).
        device: where to train; default :func:`gancourse.config.device`.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """

    extra_keys = ("cycle", "identity")
    #: CycleGAN writes its own two updates (two generators and two discriminators at once do not fit
    #: the base trainer's hooks), and they run in fp32, contiguous, in one process.
    supports = frozenset()

    def __init__(self, g_ab: nn.Module, g_ba: nn.Module, d_a: nn.Module, d_b: nn.Module, domain_a: torch.Tensor,
                 domain_b: torch.Tensor, config: TrainConfig | None = None, *, cycle_weight: float = 10.0,
                 identity_weight: float = 0.0, device=None):
        for name, t in (("domain_a", domain_a), ("domain_b", domain_b)):
            if not isinstance(t, torch.Tensor) or t.dim() != 4:
                got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
                raise ValueError(f"{name} must be a tensor of images (N, C, H, W), got {got}")
        if domain_a.shape[1:] != domain_b.shape[1:]:
            raise ValueError(f"both domains need images of one shape, got {tuple(domain_a.shape[1:])} and "
                             f"{tuple(domain_b.shape[1:])}")
        if cycle_weight < 0 or identity_weight < 0:
            raise ValueError(f"cycle_weight and identity_weight must be >= 0, got {cycle_weight} and {identity_weight}")
        config = config if config is not None else TrainConfig(loss="least_squares")
        if config.gp_weight > 0 or config.clip_value is not None:
            raise ValueError("CycleGANTrainer has no gradient penalty or weight clipping: set gp_weight=0 and "
                             f"clip_value=None in its config (got gp_weight={config.gp_weight}, "
                             f"clip_value={config.clip_value})")
        dev = torch.device(device) if device is not None else default_device()
        self.domain_a = TensorSampler(domain_a, device=dev)
        self.domain_b = TensorSampler(domain_b, device=dev)
        generators = nn.ModuleDict({"ab": g_ab, "ba": g_ba})
        discriminators = nn.ModuleDict({"a": d_a, "b": d_b})
        super().__init__(generators, discriminators, self.domain_a, config, fixed_inputs=domain_a[:config.n_fixed],
                         device=dev)
        self.cycle_weight, self.identity_weight = cycle_weight, identity_weight

    def _batches(self) -> tuple[torch.Tensor, torch.Tensor]:
        n = self.config.batch_size
        return self.domain_a(n, self.rng), self.domain_b(n, self.rng)

    def discriminator_step(self) -> dict[str, torch.Tensor]:
        """One update of both discriminators on real images and (detached) translations."""
        g, d = self.generator, self.discriminator
        a, b = self._batches()
        with torch.no_grad():
            fake_b, fake_a = g["ab"](a), g["ba"](b)
        real_a_out, fake_a_out = d["a"](a), d["a"](fake_a)
        real_b_out, fake_b_out = d["b"](b), d["b"](fake_b)
        loss = self.loss.d(real_a_out, fake_a_out) + self.loss.d(real_b_out, fake_b_out)
        self.update(self.opt_d, loss)
        real_out = torch.cat([real_a_out.flatten(), real_b_out.flatten()])
        fake_out = torch.cat([fake_a_out.flatten(), fake_b_out.flatten()])
        return self.d_statistics(loss, real_out, fake_out)

    def generator_step(self) -> dict[str, torch.Tensor]:
        """One update of both generators; returns the adversarial, cycle and identity losses (unweighted)."""
        g, d = self.generator, self.discriminator
        a, b = self._batches()
        with frozen(d):
            fake_b, fake_a = g["ab"](a), g["ba"](b)
            adversarial = self.loss.g(d["b"](fake_b)) + self.loss.g(d["a"](fake_a))
            cycle = F.l1_loss(g["ba"](fake_b), a) + F.l1_loss(g["ab"](fake_a), b)
            loss = adversarial + self.cycle_weight * cycle
            if self.identity_weight > 0:
                identity = F.l1_loss(g["ab"](b), b) + F.l1_loss(g["ba"](a), a)
                loss = loss + self.identity_weight * identity
            else:
                identity = torch.zeros((), device=self.device)
            self.update(self.opt_g, loss)
        return {"g_loss": adversarial.detach(), "cycle": cycle.detach(), "identity": identity.detach()}

    @torch.no_grad()
    def sample(self, n: int | None = None, *, inputs: torch.Tensor | None = None) -> torch.Tensor:
        """Translate A images to B with ``G_AB`` in eval mode: ``inputs`` if given, else the first ``n``
        fixed A images."""
        x = inputs if inputs is not None else self.fixed_inputs[:n]
        return translate(self.generator["ab"], x.to(self.device))
