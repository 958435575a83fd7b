"""The settings of a GAN training run: :class:`TrainConfig`, checked in full when it is made.

A config is a small frozen dataclass, as in the examples of the PyTorch codebases the course follows:
every field has a default, a wrong value (a string for a number, NaN, a negative rate, an unknown loss)
is refused with a message naming the field and what it should be, before any training starts, and a
config never changes after it is made (``dataclasses.replace`` makes a new one).

Explained in the chapters "GAN training" (the settings of a run) and "Scaling up" (the speed paths).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable

from gancourse.losses import get_loss

__all__ = ["TrainConfig", "PRECISIONS"]

#: The values of :attr:`TrainConfig.precision`.
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """Options of a GAN training run.

    Attributes:
        latent_dim: size of the noise vector z.
        batch_size: real and fake examples per update (each), per process when several train together.
        loss: a name from :data:`gancourse.losses.LOSSES`.
        d_steps: k, discriminator updates per generator update.
        lr_g, lr_d: learning rates.
        betas: Adam's betas; (0.5, 0.999) as in the DCGAN paper.
        optimizer: ``"adam"``, ``"rmsprop"`` (the original WGAN) or ``"sgd"``.
        clip_value: clamp D's weights to [-c, c] after each D update (WGAN); None for no clipping.
        gp_weight: weight of the WGAN-GP gradient penalty added to D's loss; 0 for none.
        noise: ``"normal"`` (N(0, 1)) or ``"uniform"`` (U[-1, 1]) noise for z.
        seed: a non-negative int; seeds the trainer's own random-number generator (noise and batches).
        log_every: copy the statistics to the host every this many steps.
        n_fixed: size of the fixed noise batch used for snapshots.
        precision: ``"fp32"``, or ``"bf16"`` for forward passes under bfloat16 autocast (losses,
            gradients' accumulation and weights stay fp32); falls back to fp32 with a warning where
            the device has no native bf16 arithmetic (see :func:`bf16_supported`).
        channels_last: store convolution weights and images channels-last (NHWC in memory).
        fused_optimizer: update all parameters of a network with one fused kernel (Adam, SGD) or
            one multi-tensor call (RMSprop) instead of a Python loop over the parameters.

    Every setting is checked when the config is made, so a mistake stops the run before its first
    step: a bool or a str where a number belongs, a NaN or infinite number, a number out of range
    (``gp_weight < 0``, ``clip_value <= 0``, a learning rate <= 0, betas outside [0, 1)) raises a
    ``ValueError`` that names the field. Numbers of other types (numpy's) are stored as Python ints
    and floats, so that checkpoints hold plain numbers.

    A config is frozen: to change a setting, make a new one with ``dataclasses.replace(config, ...)``
    (or continue a run with :meth:`GANTrainer.fork`), so that the config a trainer holds is always
    the one its steps ran with.

    Explained in the chapters "GAN training" and "Scaling up" (the last three options).
    """

    latent_dim: int = 64
    batch_size: int = 64
    loss: str = "nonsaturating"
    d_steps: int = 1
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    optimizer: str = "adam"
    clip_value: float | None = None
    gp_weight: float = 0.0
    noise: str = "normal"
    seed: int = 0
    log_every: int = 50
    n_fixed: int = 64
    precision: str = "fp32"
    channels_last: bool = False
    fused_optimizer: bool = False

    def __post_init__(self) -> None:
        choices = {"noise": ("normal", "uniform"), "optimizer": ("adam", "rmsprop", "sgd"), "precision": PRECISIONS}
        for name in ("loss", *choices):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ValueError(f"TrainConfig.{name} must be a str, got {_shown(value)}")
            if name in choices and value not in choices[name]:
                names = [repr(c) for c in choices[name]]
                raise ValueError(f"TrainConfig.{name} must be {', '.join(names[:-1])} or {names[-1]}, got {value!r}")
        get_loss(self.loss)  # raises a clear error for an unknown name
        for name in ("latent_dim", "batch_size", "d_steps", "log_every", "n_fixed", "seed"):
            value, least = getattr(self, name), 0 if name == "seed" else 1
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
                raise ValueError(f"TrainConfig.{name} must be a {'non-negative' if least == 0 else 'positive'} int, "
                                 f"got {_shown(value)}")
            self._set(name, int(value))
        positive, fraction = (lambda v: v > 0), (lambda v: 0 <= v < 1)
        for name in ("lr_g", "lr_d"):
            self._set(name, _number(name, getattr(self, name), "> 0 (learning rates must be positive)", positive))
        betas = self.betas
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise ValueError(f"TrainConfig.betas must be two numbers in [0, 1) (Adam's beta1 and beta2), "
                             f"got {_shown(betas)}")
        self._set("betas", tuple(_number(f"betas[{i}]", b, "in [0, 1)", fraction) for i, b in enumerate(betas)))
        if self.clip_value is not None:
            self._set("clip_value", _number("clip_value", self.clip_value, "> 0, or None for no clipping", positive))
        self._set("gp_weight", _number("gp_weight", self.gp_weight, ">= 0 (0 for no penalty)", lambda v: v >= 0))
        for name in ("channels_last", "fused_optimizer"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"TrainConfig.{name} must be True or False, got {getattr(self, name)!r}")

    def _set(self, name: str, value) -> None:  # how a frozen dataclass sets its own fields, in __post_init__ only
        object.__setattr__(self, name, value)


def _shown(value) -> str:
    return f"{value!r} (a {type(value).__name__})" if isinstance(value, (str, bool, bytes)) else repr(value)


def _number(name: str, value, wanted: str, ok: Callable[[float], bool]) -> float:
    """``value`` as a float when it is a finite real number (not a bool, not a str) for which ``ok`` holds;
    else a ``ValueError`` naming the field and what it should be."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
            or not ok(float(value))):
        raise ValueError(f"TrainConfig.{name} must be a finite number {wanted}, got {_shown(value)}")
    return float(value)
