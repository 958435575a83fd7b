"""One readable GAN training loop for every model in the course.

A training **step** is the course's alternating scheme: ``k`` discriminator updates with the generator
frozen, then one generator update with the discriminator frozen (Goodfellow et al., 2014,
Algorithm 1). :class:`GANTrainer` does that for any generator, discriminator, loss and data source,
and records:

- a **history** per step: both losses, D's accuracy on real and on fake samples, and the mean of
  ``D(x)`` and ``D(G(z))`` (probabilities for the classifier losses, raw scores otherwise);
- **snapshots**: the generator's output for one fixed noise batch at chosen steps, sampled in eval
  mode, so that pictures over training are comparable.

The statistics stay on the training device and are copied to the host every ``log_every`` steps (one
synchronisation per chunk instead of one per step). A NaN or infinite loss stops training with a
``FloatingPointError`` naming the first bad step.

Checkpoints (:meth:`GANTrainer.save` / :meth:`GANTrainer.load`) hold the whole training state: both
networks, both optimisers, the random-number generator, the step, the history and the fixed noise.
They are written atomically (to a temporary file, then renamed), loaded with
``torch.load(..., weights_only=True)``, and a run resumed from one gives exactly the parameters of an
uninterrupted run on the CPU.

**Speed paths** (all off by default; each gives the plain path's results within rounding, see the
tests): ``precision="bf16"`` runs the forward passes under bfloat16 autocast where the processor or
GPU computes in bf16 natively (elsewhere it warns and stays in fp32); ``channels_last=True`` stores
convolution weights and images channels-last, the layout fast convolution kernels prefer; and
``fused_optimizer=True`` updates all of a network's parameters with one fused kernel instead of a
Python loop over them.

**Several processes** (``torchrun``): when a ``torch.distributed`` process group is running, each
network is wrapped in ``DistributedDataParallel`` for the update that trains it, every process draws
its own batches (its random-number generator is seeded with the seed and its rank), gradients are
averaged across processes, and the history holds the average over processes. See
:mod:`gancourse.distributed`.

Explained in the chapters "GAN training" (the loop), "Welcome" (a first run) and "Scaling up" (the
speed paths and several processes).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn
from tqdm.auto import tqdm

from gancourse import distributed as dist_utils
from gancourse.config import device as default_device
from gancourse.losses import clip_weights, get_loss, gradient_penalty

__all__ = ["TrainConfig", "GANTrainer", "HISTORY_KEYS", "PRECISIONS", "sample_noise", "slerp", "bf16_supported"]

#: The statistics recorded at every step, in the order of each history row.
HISTORY_KEYS = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake", "d_real", "d_fake")

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
        seed: seeds the trainer's own random-number generator (noise and batches).
        log_every: copy the statistics to the host every this many steps.
        n_fixed: size of the fixed noise batch used for snapshots.
        precision: ``"fp32"``, or ``"bf16"`` for forward passes under bfloat16 autocast (losses,
            gradients' accumulation and weights stay fp32); falls back to fp32 with a warning where
            the device has no native bf16 arithmetic (see :func:`bf16_supported`).
        channels_last: store convolution weights and images channels-last (NHWC in memory).
        fused_optimizer: update all parameters of a network with one fused kernel (Adam, SGD) or
            one multi-tensor call (RMSprop) instead of a Python loop over the parameters.

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
        get_loss(self.loss)  # raises a clear error for an unknown name
        for name in ("latent_dim", "batch_size", "d_steps", "log_every", "n_fixed"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive int, got {value!r}")
        if self.noise not in ("normal", "uniform"):
            raise ValueError(f"TrainConfig.noise must be 'normal' or 'uniform', got {self.noise!r}")
        if self.optimizer not in ("adam", "rmsprop", "sgd"):
            raise ValueError(f"TrainConfig.optimizer must be 'adam', 'rmsprop' or 'sgd', got {self.optimizer!r}")
        if self.lr_g <= 0 or self.lr_d <= 0:
            raise ValueError(f"learning rates must be positive, got lr_g={self.lr_g}, lr_d={self.lr_d}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"TrainConfig.precision must be 'fp32' or 'bf16', got {self.precision!r}")
        for name in ("channels_last", "fused_optimizer"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"TrainConfig.{name} must be True or False, got {getattr(self, name)!r}")
        object.__setattr__(self, "betas", tuple(self.betas))  # a frozen dataclass is set this way once


def slerp(z0: torch.Tensor, z1: torch.Tensor, t) -> torch.Tensor:
    """Spherical interpolation between noise vectors (White, 2016, "Sampling generative networks").

    ``slerp(z0, z1, t) = (sin((1 - t) w) z0 + sin(t w) z1) / sin(w)``, with ``w`` the angle between
    ``z0`` and ``z1`` (last dimension). Unlike the straight line ``(1 - t) z0 + t z1``, whose midpoint
    between two Gaussian vectors is only about ``1/sqrt(2)`` as long as a typical one, it keeps the
    length of typical noise vectors along the way. ``t`` broadcasts against ``z0`` and ``z1``.

    Explained in the chapter "The generator" (latent walks).
    """
    omega = torch.arccos(torch.nn.functional.cosine_similarity(z0, z1, dim=-1).clamp(-1, 1))[..., None]
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def sample_noise(n: int, latent_dim: int, kind: str = "normal", generator: torch.Generator | None = None,
                 device=None) -> torch.Tensor:
    """Draw a noise batch z of shape ``(n, latent_dim)``: N(0, 1) for ``"normal"``, U[-1, 1] for ``"uniform"``.

    Explained in the chapter "The generator" (why the generator takes random input).
    """
    dev = generator.device if generator is not None else device
    if kind == "normal":
        return torch.randn(n, latent_dim, generator=generator, device=dev)
    if kind == "uniform":
        return torch.rand(n, latent_dim, generator=generator, device=dev) * 2 - 1
    raise ValueError(f"noise kind must be 'normal' or 'uniform', got {kind!r}")


@functools.lru_cache(maxsize=None)
def _cpu_flags() -> frozenset[str]:
    """The processor's feature flags as Linux lists them (empty where /proc/cpuinfo is missing)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86 and ARM spell it differently
            flags.update(value.split())
    return frozenset(flags)


def bf16_supported(device) -> bool:
    """Whether ``device`` has bfloat16 matrix hardware, so that ``precision="bf16"`` pays off.

    - CUDA: GPUs from the Ampere generation on (``torch.cuda.is_bf16_supported`` without emulation).
    - x86 CPUs: only those that expose Intel's AMX tile units (``amx_bf16``: Sapphire Rapids and
      later). AVX512-BF16 alone is not enough: on such a processor the course measured bf16 matrix
      products and DCGAN steps *slower* than fp32 (PyTorch's CPU kernels convert to and from bf16
      around instructions that are no faster than fp32 FMA), so the trainer stays in fp32 there.
      Virtual machines often hide AMX from the guest, even on processors that have it.
    - ARM CPUs: cores with the BF16 extension (``bf16`` in ``/proc/cpuinfo``, e.g. Graviton 3).
    - The flags are read from ``/proc/cpuinfo``, so only on Linux; elsewhere the answer is False.
    - Anything else (Apple MPS, ...): False.

    Explained in the chapter "Scaling up".
    """
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return False
        try:
            return bool(torch.cuda.is_bf16_supported(including_emulation=False))
        except TypeError:  # torch < 2.3 has no including_emulation
            return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return bool(_cpu_flags() & {"amx_bf16", "bf16"})
    return False


def _make_optimizer(params: Iterable[nn.Parameter], cfg: TrainConfig, lr: float) -> torch.optim.Optimizer:
    params = list(params)

    def build(**fast) -> torch.optim.Optimizer:
        if cfg.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr, betas=cfg.betas, **fast)
        if cfg.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr, **fast)
        return torch.optim.SGD(params, lr=lr, **fast)

    if not cfg.fused_optimizer:
        return build()
    try:  # RMSprop has no fused kernel; its multi-tensor ("foreach") version is the next best thing
        return build(foreach=True) if cfg.optimizer == "rmsprop" else build(fused=True)
    except (RuntimeError, ValueError) as err:  # an old torch, or a device without the fused kernel
        warnings.warn(f"fused_optimizer=True is not available here ({err}); using the plain optimizer", RuntimeWarning,
                      stacklevel=3)
        return build()


class GANTrainer:
    """Train a generator against a discriminator with alternating updates.

    Args:
        generator: maps noise ``(N, latent_dim)`` to samples.
        discriminator: maps samples to one logit (or critic score) each, shape ``(N,)``.
        real: the real data, a callable ``real(batch_size, generator)`` (for example a
            :class:`gancourse.data.TensorSampler` or a :class:`gancourse.data.GaussianMixture`).
        config: a :class:`TrainConfig`.
        device: where to train; default :func:`gancourse.config.device`.
        distributed: train with ``DistributedDataParallel`` across the processes of the running
            ``torch.distributed`` process group; None (default) does so whenever such a group with
            more than one process is running (as under ``torchrun``).

    Subclasses change an update by overriding :meth:`discriminator_step` or :meth:`generator_step`.
    To run under ``torchrun`` as well, an override calls :attr:`d_net` (in the D update) and
    :attr:`g_net` (in the G update) for the network it trains, and the subclass declares
    ``distributed_ready = True``; otherwise the trainer refuses to start with several processes
    rather than let them drift apart silently.

    Explained in the chapter "GAN training".
    """

    #: Whether the two updates train through :attr:`d_net` / :attr:`g_net` (see the class docstring).
    distributed_ready: bool = True

    def __init__(self, generator: nn.Module, discriminator: nn.Module, real: Callable, config: TrainConfig | None = None,
                 device=None, *, distributed: bool | None = None):
        self.config = cfg = config if config is not None else TrainConfig()
        self.device = torch.device(device) if device is not None else default_device()
        if distributed is None:
            distributed = dist_utils.is_distributed()
        elif distributed and not dist_utils.is_distributed():
            raise ValueError("distributed=True needs a running torch.distributed process group with more than one "
                             "process (start the script with torchrun; see gancourse.distributed.init_distributed)")
        self.distributed = bool(distributed)
        if self.device.type == "cuda" and self.device.index is None and self.distributed:
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        if cfg.channels_last:
            self.generator.to(memory_format=torch.channels_last)
            self.discriminator.to(memory_format=torch.channels_last)
        if cfg.precision == "bf16" and not bf16_supported(self.device):
            warnings.warn(f"precision='bf16' was asked for, but this {self.device.type} has no bfloat16 matrix "
                          "hardware (see bf16_supported): training in fp32 instead", RuntimeWarning, stacklevel=2)
            self.config = cfg = dataclasses.replace(cfg, precision="fp32")  # the config says what the steps run in
        self.real = real
        self.loss = get_loss(cfg.loss)
        self.opt_g = _make_optimizer(self.generator.parameters(), cfg, cfg.lr_g)
        self.opt_d = _make_optimizer(self.discriminator.parameters(), cfg, cfg.lr_d)
        self.rank = dist_utils.rank() if self.distributed else 0
        seed = dist_utils.rank_seed(cfg.seed, self.rank)  # each process draws its own batches
        self.rng = torch.Generator(device=self.device).manual_seed(seed)
        self.fixed_noise = self.noise(cfg.n_fixed)
        self.step = 0
        self.history: dict[str, list[float]] = {"step": [], **{k: [] for k in HISTORY_KEYS}}
        self.snapshots: dict[int, torch.Tensor] = {}
        self._pending: list[torch.Tensor] = []  # per-step statistics not yet copied to the host
        self._ddp: dict[str, nn.Module] = {}  # DistributedDataParallel wrappers, made on first use
        if self.distributed:
            self._check_distributed_ready()
            self._wrapped("discriminator")  # DDP copies rank 0's weights to every process now
            self._wrapped("generator")

    # -- the two updates --------------------------------------------------------------------
    def noise(self, n: int) -> torch.Tensor:
        """A batch of noise from the trainer's generator, shape ``(n, latent_dim)``."""
        return sample_noise(n, self.config.latent_dim, self.config.noise, self.rng)

    def discriminator_step(self) -> torch.Tensor:
        """One D update on a real batch and a fake batch; G is not updated (its output is detached)."""
        cfg, d = self.config, self.d_net
        real = self._memory_format(self.real(cfg.batch_size, self.rng))
        with torch.no_grad(), self.autocast():
            fake = self.generator(self.noise(cfg.batch_size)).float()
        with self.autocast():
            real_out, fake_out = d(real), d(fake)
        real_out, fake_out = real_out.float(), fake_out.float()  # losses in fp32 whatever the precision
        loss = self.loss.d(real_out, fake_out)
        if cfg.gp_weight > 0:
            loss = loss + cfg.gp_weight * gradient_penalty(d, real, fake, self.rng)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        if cfg.clip_value is not None:
            clip_weights(self.discriminator, cfg.clip_value)
        return self.d_statistics(loss, real_out, fake_out)

    def generator_step(self) -> torch.Tensor:
        """One G update: the gradient flows back through D into G, but D's weights are frozen."""
        self.discriminator.requires_grad_(False)
        try:
            with self.autocast():
                fake_out = self.discriminator(self.g_net(self.noise(self.config.batch_size)))
            loss = self.loss.g(fake_out.float())
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_g.step()
        finally:
            self.discriminator.requires_grad_(True)
        return loss.detach()

    def train_step(self) -> None:
        """k discriminator updates, then one generator update; records one history row."""
        for _ in range(self.config.d_steps):
            d_stats = self.discriminator_step()
        g_loss = self.generator_step()
        self.step += 1
        self._pending.append(torch.cat([d_stats[:1], g_loss[None], d_stats[1:]]))
        if len(self._pending) >= self.config.log_every:
            self.flush()

    def d_statistics(self, loss: torch.Tensor, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        """The five numbers a D update reports, as one tensor (no host synchronisation).

        They are D's loss, its accuracy on the real and on the fake batch, and the mean output on each
        (``D(x)`` and ``D(G(z))`` as probabilities for the classifier losses, raw scores for a critic).
        Overrides of :meth:`discriminator_step` return this, so that every trainer records the same
        history.
        """
        real_out, fake_out = real_out.detach(), fake_out.detach()
        t = self.loss.threshold
        mean_of = torch.sigmoid if self.loss.outputs_probability else (lambda v: v)
        return torch.stack([loss.detach(), (real_out > t).float().mean(), (fake_out <= t).float().mean(),
                            mean_of(real_out).mean(), mean_of(fake_out).mean()])

    # -- changing settings during a run -----------------------------------------------------
    def set_lr_scale(self, factor: float) -> None:
        """Set both learning rates to ``factor`` times the config's (``lr_g`` and ``lr_d``).

        The course's one way to change learning rates during a run: step schedules
        (:mod:`gancourse.recipes`), the explorer's sliders and the benchmarks all call it. The
        optimisers keep their state (Adam's moment estimates); checkpoints store the current rates.

        Explained in the chapter "Common problems" (decaying the learning rate).
        """
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not factor > 0:
            raise ValueError(f"factor must be a positive number, got {factor!r}")
        for optimizer, lr in ((self.opt_g, self.config.lr_g), (self.opt_d, self.config.lr_d)):
            for group in optimizer.param_groups:
                group["lr"] = lr * factor

    def fork(self, **changes) -> "GANTrainer":
        """A copy of this trainer that continues the run with some settings of its config changed.

        ``changes`` are :class:`TrainConfig` fields, e.g. ``fork(loss="minimax", d_steps=5)``. The
        copy has the same networks, optimiser states, random-number state, step and history; this
        trainer is left as it is. Changing ``loss`` switches both networks' loss from the next step on;
        changing ``lr_g`` or ``lr_d`` sets that optimiser's rate and keeps its state; changing
        ``optimizer``, ``betas`` or ``fused_optimizer`` builds both optimisers afresh (their state
        does not carry over from one optimiser to another). ``latent_dim``, ``n_fixed``, ``seed`` and
        the speed settings belong to the start of a run and cannot change.

        Explained in the chapter "Common problems" (what a saturating loss does to a generator that
        is far behind).
        """
        fixed = {"latent_dim", "n_fixed", "seed", "noise", "precision", "channels_last"}
        unknown = set(changes) - {f.name for f in dataclasses.fields(TrainConfig)}
        if unknown:
            raise ValueError(f"fork: unknown TrainConfig field(s) {sorted(unknown)}")
        if fixed & set(changes):
            raise ValueError(f"fork: {sorted(fixed & set(changes))} cannot change during a run; start a new one")
        self.flush()
        if self.distributed:
            raise NotImplementedError("fork copies a trainer within one process; under torchrun start a new run")
        new = copy.deepcopy(self)
        new.config = cfg = dataclasses.replace(self.config, **changes)
        new.loss = get_loss(cfg.loss)
        if {"optimizer", "betas", "fused_optimizer"} & set(changes):
            new.opt_g = _make_optimizer(new.generator.parameters(), cfg, cfg.lr_g)
            new.opt_d = _make_optimizer(new.discriminator.parameters(), cfg, cfg.lr_d)
        else:
            for optimizer, key in ((new.opt_g, "lr_g"), (new.opt_d, "lr_d")):
                if key in changes:
                    for group in optimizer.param_groups:
                        group["lr"] = changes[key]
        return new

    # -- speed paths and several processes ---------------------------------------------------
    @property
    def precision(self) -> str:
        """The precision the steps run in: the config's (after the fall-back to fp32 where bf16 is slow)."""
        return self.config.precision

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context for forward passes: bfloat16 autocast when this trainer runs in bf16, else nothing.

        Under autocast, matrix products and convolutions run in bf16 while the weights, their
        gradients and the optimiser's state stay fp32; the trainer computes the losses in fp32.
        """
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _memory_format(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.channels_last and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    @property
    def d_net(self) -> nn.Module:
        """The discriminator to call when its loss will update it: D itself, or D wrapped in
        ``DistributedDataParallel`` (which averages its gradients over the processes) under torchrun."""
        return self._wrapped("discriminator")

    @property
    def g_net(self) -> nn.Module:
        """The generator to call when its loss will update it (see :attr:`d_net`)."""
        return self._wrapped("generator")

    def _wrapped(self, name: str) -> nn.Module:
        module = getattr(self, name)
        if not self.distributed:
            return module
        wrapper = self._ddp.get(name)
        if wrapper is None or wrapper.module is not module:  # first use, or the network was replaced
            wrapper = self._ddp[name] = dist_utils.wrap_ddp(module, self.device)
        return wrapper

    def _check_distributed_ready(self) -> None:
        for klass in type(self).__mro__:
            if klass is GANTrainer:
                return
            if "distributed_ready" in vars(klass):
                if klass.distributed_ready:
                    return
                break
            overridden = [m for m in ("discriminator_step", "generator_step", "train_step") if m in vars(klass)]
            if overridden:
                break
        raise NotImplementedError(
            f"{type(self).__name__} cannot train on several processes yet: its updates do not go through "
            "GANTrainer.d_net / g_net (DistributedDataParallel), so the processes would drift apart. "
            "Train it in one process, or use d_net/g_net in its updates and set distributed_ready = True.")

    # -- the loop ---------------------------------------------------------------------------
    def train(self, steps: int, *, snapshot_every: int | None = None, callback: Callable | None = None,
              callback_every: int = 1, progress: bool = True) -> dict[str, list[float]]:
        """Run ``steps`` training steps and return the history.

        Args:
            steps: number of steps (each: k D updates and one G update).
            snapshot_every: store ``G(fixed_noise)`` in :attr:`snapshots` every this many steps (and
                before the first step of a fresh run).
            callback: called as ``callback(trainer)`` every ``callback_every`` steps (for animations).
            progress: show a tqdm progress bar (only in the first process under torchrun).
        """
        if not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be a non-negative int, got {steps!r}")
        if snapshot_every is not None and self.step == 0 and 0 not in self.snapshots:
            self.snapshots[0] = self.sample(noise=self.fixed_noise).cpu()
        bar = tqdm(total=steps, disable=not progress or self.rank != 0, desc="training", leave=False)
        for _ in range(steps):
            self.train_step()
            if snapshot_every and self.step % snapshot_every == 0:
                self.snapshots[self.step] = self.sample(noise=self.fixed_noise).cpu()
            if callback is not None and self.step % callback_every == 0:
                callback(self)
            bar.update(1)
            if not self._pending and self.history["step"]:  # a chunk was just copied to the host
                bar.set_postfix(d_loss=f"{self.history['d_loss'][-1]:.3f}", g_loss=f"{self.history['g_loss'][-1]:.3f}")
        bar.close()
        self.flush()
        return self.history

    def flush(self) -> None:
        """Copy pending statistics to :attr:`history` (one host synchronisation); stop on a bad loss.

        Under torchrun the rows are first averaged over the processes (one collective per chunk), so
        every process keeps the same history and all of them stop together on a bad loss.
        """
        if not self._pending:
            return
        rows = torch.stack(self._pending)  # (n, len(HISTORY_KEYS))
        if self.distributed:
            rows = dist_utils.mean_over_processes(rows)
        rows = rows.cpu()
        first = self.step - len(rows) + 1
        self._pending = []
        bad = ~torch.isfinite(rows[:, :2]).all(dim=1)
        if bad.any():
            i = int(bad.nonzero()[0])
            d_loss, g_loss = rows[i, :2].tolist()
            raise FloatingPointError(f"training diverged at step {first + i}: d_loss={d_loss}, g_loss={g_loss} "
                                     "(try a smaller learning rate or another loss)")
        self.history["step"].extend(range(first, self.step + 1))
        for key, column in zip(HISTORY_KEYS, rows.T.tolist()):
            self.history[key].extend(column)

    @torch.no_grad()
    def sample(self, n: int | None = None, *, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Generate samples in eval mode (batch norm uses its running statistics), without gradients."""
        z = noise if noise is not None else self.noise(n if n is not None else self.config.n_fixed)
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.generator(z.to(self.device))
        finally:
            self.generator.train(was_training)

    # -- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The whole training state as tensors, numbers, strings, lists and dicts.

        Under torchrun this is a collective call (every process must make it): it also gathers each
        process's random-number generator state, so that a resumed run continues every stream.
        """
        self.flush()
        state = {
            "config": dataclasses.asdict(self.config),
            "step": self.step,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": self.rng.get_state(),
            "fixed_noise": self.fixed_noise,
            "history": self.history,
            "snapshots": self.snapshots,
        }
        if self.distributed:
            state["rng_per_rank"] = dist_utils.gather_objects(self.rng.get_state())
        return state

    def save(self, path: str | os.PathLike) -> Path:
        """Write a checkpoint atomically: a temporary file in the same folder, then a rename.

        A crash while saving leaves the previous checkpoint untouched, never a half-written one.
        Under torchrun every process calls ``save`` and only the first one (rank 0) writes.
        """
        path = Path(path)
        state = self.state_dict()
        if self.rank != 0:
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(state, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    def load(self, path: str | os.PathLike) -> "GANTrainer":
        """Restore a checkpoint written by :meth:`save` into this trainer (same model shapes)."""
        state = torch.load(path, map_location=self.device, weights_only=True)
        for name in ("generator", "discriminator"):
            _check_shapes(getattr(self, name), state[name], name, path)
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        for opt, key in ((self.opt_g, "opt_g"), (self.opt_d, "opt_d")):
            own = [{k: g.get(k) for k in ("fused", "foreach")} for g in opt.param_groups]
            opt.load_state_dict(state[key])
            for group, flags in zip(opt.param_groups, own):  # keep this trainer's fused_optimizer choice
                group.update(flags)
        self.step = int(state["step"])
        self.rng.set_state(self._rng_state_from(state, path).cpu())
        self.fixed_noise = state["fixed_noise"].to(self.device)
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.snapshots = {int(k): v for k, v in state["snapshots"].items()}
        self._pending = []
        return self

    def _rng_state_from(self, state: dict, path) -> torch.Tensor:
        """This process's generator state: its own when the checkpoint holds one per process."""
        per_rank = state.get("rng_per_rank")
        world = dist_utils.world_size() if self.distributed else 1
        if per_rank is not None and len(per_rank) == world:
            return per_rank[self.rank]
        if self.rank == 0:
            return state["rng"]
        warnings.warn(f"checkpoint {os.fspath(path)!r} holds no random-number state for process {self.rank} of "
                      f"{world}: that process restarts its stream from its seed and the step", RuntimeWarning)
        seed = dist_utils.rank_seed(self.config.seed, self.rank) + self.step
        return torch.Generator(device=self.device).manual_seed(seed).get_state()


def _check_shapes(model: nn.Module, saved: dict, name: str, path) -> None:
    own = model.state_dict()
    problems = [f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
                for k, v in saved.items() if k in own and own[k].shape != v.shape]
    missing, extra = sorted(set(own) - set(saved)), sorted(set(saved) - set(own))
    if problems or missing or extra:
        details = "; ".join(problems[:3] + [f"missing {m}" for m in missing[:3]] + [f"unexpected {e}" for e in extra[:3]])
        raise ValueError(f"checkpoint {os.fspath(path)!r} holds a {name} of another shape than this trainer's: {details}")
