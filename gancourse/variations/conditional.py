"""Conditional GAN: tell the generator which digit to draw (Mirza & Osindero, 2014).

An ordinary GAN models p(X): it draws *some* digit. A conditional GAN models p(X | Y): both networks
also receive a condition y, here the digit's label, and

- the generator draws ``G(z, y)``, an image meant to show class y;
- the discriminator judges pairs, ``D(x, y)``: "is x a real image *of class y*?".

A real 7 presented with the label 3 is, to this discriminator, as wrong as a bad fake, so the only
way for G to fool it is to draw what the label asks for.

How the condition enters (the paper concatenates it to each network's input; we do the same):

- G: the label is turned into a learned vector (an embedding) and concatenated to the noise z;
  the DCGAN generator of :mod:`gancourse.models` takes it from there.
- D: the label's vector is spread over the image as extra channels (every pixel of channel k holds
  component k), concatenated to the image, and a DCGAN discriminator reads image and label together.

The condition need not be a label: any module that maps a batch of conditions to vectors of size
``embed_dim`` can be passed as ``condition`` (the text-to-image model passes a sentence encoder).

:class:`ConditionalGANTrainer` is :class:`gancourse.train.GANTrainer` with its data hooks changed to
pass the condition along; the updates, the loop, the losses, the history and the checkpoints are the same.

Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
"""

from __future__ import annotations

import torch
from torch import nn

from gancourse import checkpoint
from gancourse.data import TensorSampler
from gancourse.models import DCGANDiscriminator, DCGANGenerator, check_shape, eval_mode
from gancourse.train import GANTrainer
from gancourse.train_config import TrainConfig

__all__ = ["ConditionalGenerator", "ConditionalDiscriminator", "ConditionalGANTrainer", "label_grid"]


def _encoder(condition: int | nn.Module, embed_dim: int, who: str) -> nn.Module:
    if isinstance(condition, nn.Module):
        return condition
    if isinstance(condition, int) and not isinstance(condition, bool) and condition >= 2:
        return nn.Embedding(condition, embed_dim)
    raise ValueError(f"{who}: condition must be a number of classes (>= 2) or an nn.Module, got {condition!r}")


def _check_batch(x: torch.Tensor, y: torch.Tensor, who: str) -> None:
    if not isinstance(y, torch.Tensor) or y.shape[0] != x.shape[0]:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"{who} expects one condition per example ({x.shape[0]}), got conditions of shape {got}")


class ConditionalGenerator(nn.Module):
    """A DCGAN generator for 28x28 images that also takes a condition: ``G(z, y)``.

    ``y`` is turned into a vector ``e(y)`` of size ``embed_dim`` and the DCGAN generator receives the
    concatenation ``[z, e(y)]`` (Mirza & Osindero, 2014, section 4.1, with a learned embedding in
    place of the one-hot vector).

    Args:
        condition: the number of classes (labels ``0..n-1`` become learned embeddings), or a module
            mapping a batch of conditions to ``(N, embed_dim)`` vectors, e.g. a sentence encoder.
        latent_dim: size of the noise z.
        embed_dim: size of the condition's vector.
        width: width of the DCGAN generator (see :class:`gancourse.models.DCGANGenerator`).

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """

    def __init__(self, condition: int | nn.Module = 10, latent_dim: int = 64, embed_dim: int = 16, width: int = 64):
        super().__init__()
        self.latent_dim, self.embed_dim = latent_dim, embed_dim
        self.embed = _encoder(condition, embed_dim, "ConditionalGenerator")
        self.body = DCGANGenerator(latent_dim=latent_dim + embed_dim, image_size=28, width=width)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        _check_batch(z, y, "ConditionalGenerator")
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"ConditionalGenerator expects noise of shape (N, {self.latent_dim}), "
                             f"got {tuple(z.shape)}")
        e = self.embed(y)  # (N, embed_dim)
        return self.body(torch.cat([z, e], dim=1))  # (N, latent + embed) -> (N, 1, 28, 28)


class ConditionalDiscriminator(nn.Module):
    """A DCGAN discriminator for 28x28 images that also reads the condition: ``D(x, y)``, logits ``(N,)``.

    The condition's vector ``e(y)`` (size ``embed_dim``) is broadcast to ``embed_dim`` constant
    channels of 28x28 and concatenated to the image, so the first convolution already sees pixels and
    label together (Mirza & Osindero, 2014, concatenate y to D's input).

    Args:
        condition: the number of classes, or a module mapping conditions to ``(N, embed_dim)``.
        embed_dim: size of the condition's vector (and number of extra input channels).
        width: width of the DCGAN discriminator.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """

    def __init__(self, condition: int | nn.Module = 10, embed_dim: int = 16, width: int = 64):
        super().__init__()
        self.embed_dim = embed_dim
        self.embed = _encoder(condition, embed_dim, "ConditionalDiscriminator")
        self.body = DCGANDiscriminator(image_size=28, channels=1 + embed_dim, width=width)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_shape(x, ("N", 1, 28, 28), "ConditionalDiscriminator", "images")
        _check_batch(x, y, "ConditionalDiscriminator")
        e = self.embed(y)  # (N, embed_dim)
        maps = e[:, :, None, None].expand(-1, -1, 28, 28)  # (N, embed_dim, 28, 28)
        return self.body(torch.cat([x, maps], dim=1))  # (N, 1 + embed_dim, 28, 28) -> (N,)


class ConditionalGANTrainer(GANTrainer):
    """:class:`gancourse.train.GANTrainer` for a generator ``G(z, y)`` and a discriminator ``D(x, y)``.

    The updates are the base trainer's; only its hooks change (what a batch is, how the networks
    read it):

    - D step: a real batch comes with its conditions y (:meth:`real_batch`); the fakes are drawn
      **for the same y** (:meth:`generate`), so both halves of D's batch carry the same mix of
      conditions; D minimises ``L_D(D(x, y), D(G(z, y), y))`` (:meth:`judge`).
    - G step: conditions are drawn from the data (:meth:`g_batch`, so each is asked for as often as
      it occurs) and G minimises ``L_G(D(G(z, y), y))``; D's weights are frozen, as in the base trainer.

    Mixed precision, channels-last and several processes come from the base trainer.

    Args:
        generator, discriminator: conditional networks (:class:`ConditionalGenerator`,
            :class:`ConditionalDiscriminator`).
        real: a :class:`gancourse.data.TensorSampler` built with ``labels`` (the conditions), on the
            training device.
        config: a :class:`gancourse.train_config.TrainConfig`.
        fixed_conditions: conditions for the fixed noise batch (snapshots and :meth:`sample`);
            default: ``0, 1, ..., 9, 0, 1, ...`` for integer labels.
        device: where to train; default :func:`gancourse.config.device`.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, real: TensorSampler,
                 config: TrainConfig | None = None, *, fixed_conditions: torch.Tensor | None = None, device=None):
        if not isinstance(real, TensorSampler) or real.labels is None:
            raise ValueError("real must be a TensorSampler built with labels (the conditions), "
                             "e.g. TensorSampler(images, labels, device=device())")
        super().__init__(generator, discriminator, real, config, device=device)
        if fixed_conditions is None:
            if real.labels.dtype != torch.long or real.labels.dim() != 1:
                raise ValueError("fixed_conditions must be given when the conditions are not integer labels")
            n_classes = int(real.labels.max()) + 1
            fixed_conditions = torch.arange(self.config.n_fixed) % n_classes
        if fixed_conditions.shape[0] != self.config.n_fixed:
            raise ValueError(f"fixed_conditions must hold n_fixed={self.config.n_fixed} conditions, "
                             f"got {fixed_conditions.shape[0]}")
        self.fixed_conditions = fixed_conditions.to(self.device)

    # The hooks of GANTrainer: a batch is images with their conditions, and both networks read the condition.
    def real_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` real images and their conditions ``y``."""
        return self.real.sample_with_labels(n, self.rng)

    def g_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Conditions for G's update, drawn from the data, so each is asked for as often as it occurs."""
        return self.real_batch(n)

    def generate(self, g: nn.Module, y: torch.Tensor, n: int) -> torch.Tensor:
        """``G(z, y)``: fakes for the given conditions (the same ``y`` as the real half of D's batch)."""
        return g(self.noise(n), y)

    def judge(self, d: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``D(x, y)``: is x a real image *of class y*?"""
        return d(x, y)

    @torch.no_grad()
    def sample(self, n: int | None = None, *, noise: torch.Tensor | None = None,
               conditions: torch.Tensor | None = None) -> torch.Tensor:
        """Generate ``G(z, y)`` in eval mode, without gradients.

        ``conditions`` default to :attr:`fixed_conditions` (then ``n`` and ``noise`` must match their
        number); ``noise`` defaults to fresh noise from
        :meth:`~gancourse.train.GANTrainer.sampling_noise`, never from the training stream.
        """
        y = self.fixed_conditions if conditions is None else conditions.to(self.device)
        z = noise if noise is not None else self.sampling_noise(y.shape[0] if n is None else n)
        if z.shape[0] != y.shape[0]:
            raise ValueError(f"sample needs one condition per noise vector: got {z.shape[0]} noise vectors "
                             f"and {y.shape[0]} conditions")
        with eval_mode(self.generator):
            return self.generator(z.to(self.device), y)

    # Checkpoints also hold the fixed conditions, so that snapshots after a resume show the same classes.
    def state_dict(self) -> dict:
        """The base trainer's state plus :attr:`fixed_conditions`."""
        return {**super().state_dict(), "fixed_conditions": self.fixed_conditions}

    def validate_state(self, state, path="<state>") -> None:
        """Check the base trainer's state and the fixed conditions (absent from older checkpoints)."""
        super().validate_state(state, path)
        saved = state.get("fixed_conditions", self.fixed_conditions)
        checkpoint.check_tensor(saved, "fixed_conditions", path, shape=(state["fixed_noise"].shape[0],
                                                                        *self.fixed_conditions.shape[1:]))

    def load_state(self, state: dict, path="<state>") -> None:
        """Restore the base trainer's state and the fixed conditions (all checked before either changes)."""
        super().load_state(state, path)
        if "fixed_conditions" in state:
            self.fixed_conditions = state["fixed_conditions"].to(self.device)


def label_grid(n_classes: int = 10, per_class: int = 10) -> torch.Tensor:
    """Labels for a grid with one row per class: ``[0]*per_class + [1]*per_class + ...``.

    The result has shape ``(n_classes * per_class,)``.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    if n_classes < 1 or per_class < 1:
        raise ValueError(f"n_classes and per_class must be >= 1, got {n_classes} and {per_class}")
    return torch.arange(n_classes).repeat_interleave(per_class)
