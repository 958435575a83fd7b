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
``FloatingPointError`` naming the first bad step and its likely cause (NaN in the data, or a learning
rate too large); the history keeps every step before it.

Training draws all its noise and batches from the trainer's own random-number generator; looking at
the generator (:meth:`GANTrainer.sample`) draws from a second one, so it changes nothing in the run.

Checkpoints (:meth:`GANTrainer.save` / :meth:`GANTrainer.load`) hold the whole training state: both
networks, both optimisers, both random-number generators, the step, the history and the fixed noise.
They are written atomically (to a temporary file, then renamed), loaded with
``torch.load(..., weights_only=True)``, checked whole before anything changes (a load restores all
or nothing), and a run resumed from one gives exactly the parameters of an uninterrupted run on the
CPU. A checkpoint moves between a GPU and a CPU (see :meth:`GANTrainer.load`).

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
import math
import os
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from tqdm.auto import tqdm

from gancourse import checkpoint
from gancourse import distributed as dist_utils
from gancourse.config import device as default_device
from gancourse.losses import clip_weights, get_loss, gradient_penalty
from gancourse.models import eval_mode, frozen
from gancourse.noise import sample_noise, slerp  # noqa: F401  (slerp: re-exported)
from gancourse.speed import bf16_supported, make_optimizer
from gancourse.train_config import PRECISIONS, TrainConfig  # noqa: F401  (PRECISIONS: re-exported)

# TrainConfig, sample_noise and slerp live in gancourse.train_config and gancourse.noise; they are imported here
# too, so that ``from gancourse.train import GANTrainer, TrainConfig`` keeps working.
__all__ = ["GANTrainer", "HISTORY_KEYS"]

#: What every step records: both losses, D's accuracy on the real and on the fake batch, and D's mean
#: output on each.
_STEP_KEYS = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake", "d_real", "d_fake")
#: The history's columns: the step's records, then ``d_acc``, D's accuracy on both batches together,
#: ``(d_acc_real + d_acc_fake) / 2`` (derived when the records reach the host).
HISTORY_KEYS = _STEP_KEYS + ("d_acc",)

#: The sampling generator (:meth:`GANTrainer.sampling_noise`) is seeded with the seed plus this, so that it
#: never replays the training stream's draws.
_SAMPLING_OFFSET = 0x5A3B1E

#: Config fields a checkpoint must share with the trainer it is loaded into: they change what a step computes.
#: (seed: the random-number state comes from the file; speed paths and rates may differ; see GANTrainer.load.)
_MUST_MATCH = ("loss", "optimizer", "batch_size", "latent_dim", "noise", "n_fixed", "precision")

#: What every checkpoint holds (later versions add ``device_type`` and ``sample_rng``).
_STATE_KEYS = ("config", "step", "generator", "discriminator", "opt_g", "opt_d", "rng", "fixed_noise", "history",
               "snapshots")


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

    **The extension seam.** :meth:`discriminator_step` and :meth:`generator_step` are written once,
    here. A variation of the GAN changes *what a batch is and how the networks read it*, never how an
    update is made, by overriding these hooks:

    ==========================================  ====================================================
    hook                                        the plain GAN
    ==========================================  ====================================================
    ``real_batch(n) -> (real, context)``        ``(real(n), None)``: no condition
    ``g_batch(n) -> (real or None, context)``   ``(None, None)``: G's update needs no real data
    ``generate(g, context, n)``                 ``g(z)`` for fresh noise z
    ``judge(d, sample, context)``               ``d(sample)``
    ``d_penalty(real, fake, real_out, ctx)``    the gradient penalty when ``gp_weight > 0``
    ``g_terms(fake, real, context)``            ``{}``: no loss but the adversarial one
    ==========================================  ====================================================

    Mixed precision, memory layout and several processes are handled around the hooks (by
    :meth:`fake_batch` and :meth:`outputs`), so every trainer built this way gets them. A trainer
    whose updates really differ (the unrolled GAN, CycleGAN) overrides the whole step and lists in
    :attr:`supports` the speed paths it still honours; asking for another one is an error.

    Explained in the chapter "GAN training" (the loop and its hooks) and "Scaling up" (the speed
    paths and several processes).
    """

    #: The speed paths this trainer's updates honour; a config or a run asking for another is refused.
    supports: frozenset[str] = frozenset({"bf16", "channels_last", "distributed"})
    #: Names of extra generator loss terms (from :meth:`g_terms`) recorded as history columns.
    extra_keys: tuple[str, ...] = ()

    def __init__(self, generator: nn.Module, discriminator: nn.Module, real: Callable,
                 config: TrainConfig | None = None, device=None, *, distributed: bool | None = None):
        self.config = cfg = config if config is not None else TrainConfig()
        self.device = torch.device(device) if device is not None else default_device()
        if distributed is None:
            distributed = dist_utils.is_distributed()
        elif distributed and not dist_utils.is_distributed():
            raise ValueError("distributed=True needs a running torch.distributed process group with more than one "
                             "process (start the script with torchrun; see gancourse.distributed.init_distributed)")
        self.distributed = bool(distributed)
        self._refuse_unsupported()
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
        self.opt_g = _optimizer(self.generator, cfg, cfg.lr_g)
        self.opt_d = _optimizer(self.discriminator, cfg, cfg.lr_d)
        self.rank = dist_utils.rank() if self.distributed else 0
        seed = dist_utils.rank_seed(cfg.seed, self.rank)  # each process draws its own batches
        self.rng = torch.Generator(device=self.device).manual_seed(seed)
        self.fixed_noise = self.noise(cfg.n_fixed)
        # Noise for looking at G (sample(n)) comes from a stream of its own, so looking changes no training draw.
        self.sample_rng = torch.Generator(device=self.device).manual_seed(seed + _SAMPLING_OFFSET)
        self.step = 0
        self.history: dict[str, list[float]] = {"step": [], **{k: [] for k in self.history_keys}}
        self.snapshots: dict[int, torch.Tensor] = {}
        self._pending: list[torch.Tensor] = []  # per-step statistics not yet copied to the host
        self._ddp: dict[str, nn.Module] = {}  # DistributedDataParallel wrappers, made on first use
        if self.distributed:
            self._wrapped("discriminator")  # DDP copies rank 0's weights to every process now
            self._wrapped("generator")

    @property
    def history_keys(self) -> tuple[str, ...]:
        """The history's columns: :data:`HISTORY_KEYS`, then this trainer's :attr:`extra_keys`."""
        return HISTORY_KEYS + tuple(self.extra_keys)

    @property
    def _row_keys(self) -> tuple[str, ...]:  # what a step records (d_acc is derived when copied to the host)
        return _STEP_KEYS + tuple(self.extra_keys)

    # -- the hooks: what a batch is and how the networks read it ------------------------------
    def noise(self, n: int) -> torch.Tensor:
        """A batch of noise from the trainer's generator, shape ``(n, latent_dim)``."""
        return sample_noise(n, self.config.latent_dim, self.config.noise, self.rng)

    def real_batch(self, n: int) -> tuple[torch.Tensor, Any]:
        """``n`` real examples and their context (a label, an input image, ...; None for a plain GAN)."""
        return self.real(n, self.rng), None

    def g_batch(self, n: int) -> tuple[torch.Tensor | None, Any]:
        """What G's update takes from the data: ``(real examples or None, context)``.

        A plain GAN's generator needs no real data, so nothing is drawn: ``(None, None)``. A
        conditional GAN draws its labels here, a paired one its inputs and their targets.
        """
        return None, None

    def generate(self, g: nn.Module, context: Any, n: int) -> torch.Tensor:
        """``n`` samples of the generator ``g`` for ``context``: here ``g(z)`` for fresh noise z."""
        return g(self.noise(n))

    def judge(self, d: nn.Module, sample: torch.Tensor, context: Any) -> torch.Tensor:
        """The discriminator ``d``'s outputs on ``sample`` in ``context``: here ``d(sample)``."""
        return d(sample)

    def d_penalty(self, real: torch.Tensor, fake: torch.Tensor, real_out: torch.Tensor,
                  context: Any) -> torch.Tensor | float:
        """Terms added to D's loss: the WGAN-GP gradient penalty ``gp_weight * E[(||grad D(x_hat)|| - 1)^2]``
        when ``gp_weight > 0`` (see :func:`gancourse.losses.gradient_penalty`), else 0."""
        if self.config.gp_weight == 0:
            return 0.0
        d = self.d_net
        penalty = gradient_penalty(lambda x: self.judge(d, x, context), real.detach(), fake, self.rng)
        return self.config.gp_weight * penalty

    def g_terms(self, fake: torch.Tensor, real: torch.Tensor | None,
                context: Any) -> dict[str, tuple[float, torch.Tensor]]:
        """Extra generator losses, ``{name: (weight, value)}``; G minimises the adversarial loss plus
        ``sum(weight * value)``, and each value (unweighted) is recorded in ``history[name]``. None here."""
        return {}

    # -- the two updates, written once -----------------------------------------------------
    def discriminator_step(self) -> dict[str, torch.Tensor]:
        """One D update on a real batch and a fake batch; G is not updated (no gradients reach it)."""
        real, context = self.real_batch(self.config.batch_size)
        with torch.no_grad():
            fake = self.fake_batch(context, len(real))
        real_out, fake_out = self.outputs(real, context), self.outputs(fake, context)
        penalty = self.d_penalty(real, fake, real_out, context)
        loss = self.loss.d(real_out, fake_out) + penalty
        self.update(self.opt_d, loss)
        if self.config.clip_value is not None:  # the original WGAN keeps D's weights in [-c, c]
            clip_weights(self.discriminator, self.config.clip_value)
        return self.d_statistics(loss, real_out, fake_out)

    def generator_step(self) -> dict[str, torch.Tensor]:
        """One G update: the gradient flows back through D into G, but D's weights are frozen."""
        real, context = self.g_batch(self.config.batch_size)
        with frozen(self.discriminator):
            fake = self.fake_batch(context, self.config.batch_size, updating=True)
            adversarial = self.loss.g(self.outputs(fake, context, updating=False))
            terms = self.g_terms(fake, real, context)
            loss = adversarial
            for weight, value in terms.values():
                loss = loss + weight * value
            self.update(self.opt_g, loss)
        extra = {name: value.detach() for name, (_, value) in terms.items()}
        return {"g_loss": adversarial.detach(), **extra}

    def train_step(self) -> None:
        """k discriminator updates, then one generator update; records one history row."""
        for _ in range(self.config.d_steps):
            d_stats = self.discriminator_step()
        g_stats = self.generator_step()
        self.step += 1
        self.record({**d_stats, **g_stats})

    def update(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """One gradient step of ``optimizer`` on ``loss``: clear the old gradients, backpropagate, step."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def d_statistics(self, loss: torch.Tensor, real_out: torch.Tensor,
                     fake_out: torch.Tensor) -> dict[str, torch.Tensor]:
        """What a D update reports, by name, as tensors on the device (no host synchronisation).

        ``d_loss``; ``d_acc_real`` and ``d_acc_fake``, D's accuracy on the real and on the fake batch;
        ``d_real`` and ``d_fake``, the mean output on each (``D(x)`` and ``D(G(z))`` as probabilities
        for the classifier losses, raw scores for a critic).
        """
        real_out, fake_out = real_out.detach(), fake_out.detach()
        t = self.loss.threshold
        mean_of = torch.sigmoid if self.loss.outputs_probability else (lambda v: v)
        return {"d_loss": loss.detach(), "d_acc_real": (real_out > t).float().mean(),
                "d_acc_fake": (fake_out <= t).float().mean(), "d_real": mean_of(real_out).mean(),
                "d_fake": mean_of(fake_out).mean()}

    def record(self, stats: dict[str, torch.Tensor]) -> None:
        """Queue one step's statistics, by name; they are copied to the host every ``log_every`` steps."""
        self._pending.append(torch.stack([stats[key] for key in self._row_keys]))
        if len(self._pending) >= self.config.log_every:
            self.flush()

    # -- changing settings during a run -----------------------------------------------------
    def set_lr_scale(self, factor: float) -> None:
        """Set both learning rates to ``factor`` times the config's (``lr_g`` and ``lr_d``).

        The course's one way to change learning rates during a run: step schedules
        (:mod:`gancourse.recipes`), the explorer's sliders and the benchmarks all call it. The
        optimisers keep their state (Adam's moment estimates); checkpoints store the current rates.

        Explained in the chapter "Common problems" (decaying the learning rate).
        """
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not 0 < factor < math.inf:
            raise ValueError(f"factor must be a positive number (finite), got {factor!r}")
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
            new.opt_g = _optimizer(new.generator, cfg, cfg.lr_g)
            new.opt_d = _optimizer(new.discriminator, cfg, cfg.lr_d)
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

    def fake_batch(self, context: Any, n: int, *,
                   updating: bool = False) -> torch.Tensor:
        """G's samples through :meth:`generate`, in the trainer's precision, returned in fp32.

        ``updating=True`` in G's own update: then G is called through DDP under torchrun.
        """
        with self.autocast():
            g = self.g_net if updating else self.generator
            return self.generate(g, self._memory_format(context), n).float()

    def outputs(self, sample: torch.Tensor, context: Any, *,
                updating: bool = True) -> torch.Tensor:
        """D's outputs through :meth:`judge`, in fp32 whatever the precision (losses are computed in fp32).

        The sample (and an image context) is laid out channels-last when the config asks for it;
        ``updating=True`` (D's own update) calls D through DDP under torchrun, ``updating=False`` (G's
        update, D frozen) calls D itself.
        """
        d = self.d_net if updating else self.discriminator
        with self.autocast():
            sample, context = self._memory_format(sample), self._memory_format(context)
            out = self.judge(d, sample, context)
        return out.float()

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context for forward passes: bfloat16 autocast when this trainer runs in bf16, else nothing.

        Under autocast, matrix products and convolutions run in bf16 while the weights, their
        gradients and the optimiser's state stay fp32; the trainer computes the losses in fp32.
        """
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _memory_format(self, x: Any) -> Any:
        """Images (4-D tensors) laid out channels-last when the config asks for it; anything else as it is."""
        if self.config.channels_last and isinstance(x, torch.Tensor) and x.dim() == 4:
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

    def _refuse_unsupported(self) -> None:
        asked = {"bf16": self.config.precision == "bf16", "channels_last": self.config.channels_last,
                 "distributed": self.distributed}
        refused = sorted(k for k, on in asked.items() if on and k not in self.supports)
        if refused:
            raise NotImplementedError(
                f"{type(self).__name__} writes its own updates and does not support {', '.join(refused)}: train it "
                "in one process, in fp32, without channels_last (see GANTrainer.supports)")

    # -- the loop ---------------------------------------------------------------------------
    def train(self, steps: int, *, snapshot_every: int | None = None, callback: Callable | None = None,
              callback_every: int = 1, progress: bool = True) -> dict[str, list[float]]:
        """Run ``steps`` training steps and return the history.

        Args:
            steps: number of steps (each: k D updates and one G update).
            snapshot_every: store :meth:`snapshot` (G on the fixed batch) in :attr:`snapshots` every this
                many steps (and before the first step of a fresh run).
            callback: called as ``callback(trainer)`` every ``callback_every`` steps (for animations).
            progress: show a tqdm progress bar (only in the first process under torchrun).
        """
        for name, value, least in (("steps", steps, 0), ("snapshot_every", snapshot_every, 1),
                                   ("callback_every", callback_every, 1)):
            if value is None and name == "snapshot_every":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be {'a non-negative' if least == 0 else 'a positive'} int, "
                                 f"got {value!r}")  # checked before the first step, not in the middle of the run
        if snapshot_every is not None and self.step == 0 and 0 not in self.snapshots:
            self.snapshots[0] = self.snapshot()
        bar = tqdm(total=steps, disable=not progress or self.rank != 0, desc="training", leave=False)
        for _ in range(steps):
            self.train_step()
            if snapshot_every and self.step % snapshot_every == 0:
                self.snapshots[self.step] = self.snapshot()
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

        On a NaN or infinite loss the history keeps every step before the first bad one and a
        ``FloatingPointError`` names that step, says whether the real data or the learning rate is the
        likely cause, and says that the weights are those after the last step run (the loss is checked
        once per chunk, so steps after the bad one may have run: the weights are not usable).
        """
        if not self._pending:
            return
        rows = torch.stack(self._pending)  # (n, len(self._row_keys))
        if self.distributed:
            rows = dist_utils.mean_over_processes(rows)
        rows = rows.cpu()
        first = self.step - len(rows) + 1
        self._pending = []
        columns = dict(zip(self._row_keys, rows.T))
        columns["d_acc"] = (columns["d_acc_real"] + columns["d_acc_fake"]) / 2
        bad = ~(torch.isfinite(columns["d_loss"]) & torch.isfinite(columns["g_loss"]))
        kept = int(bad.nonzero()[0]) if bad.any() else len(rows)  # the finite rows before the first bad one
        self.history["step"].extend(range(first, first + kept))
        for key in self.history_keys:
            self.history[key].extend(columns[key][:kept].tolist())
        if kept < len(rows):
            row = {k: float(v[kept]) for k, v in columns.items()}
            raise FloatingPointError(self._divergence_message(first + kept, row))

    def _divergence_message(self, bad_step: int, row: dict[str, float]) -> str:
        data = getattr(self.real, "data", None)  # a TensorSampler's tensor: checked now, never per step
        data_bad = isinstance(data, torch.Tensor) and data.is_floating_point() and not bool(torch.isfinite(data).all())
        if data_bad or (not math.isfinite(row["d_real"]) and math.isfinite(row["d_fake"])):
            cause = (f"D's output on the real batch was {row['d_real']} while on the fake batch it was finite: the "
                     "real data hold NaN or infinite values (check them with torch.isfinite(x).all())")
        else:
            cause = (f"the losses grew until they overflowed, the usual sign of a learning rate too large for this "
                     f"loss (lr_g={self.config.lr_g:g}, lr_d={self.config.lr_d:g}): try a smaller one or another loss")
        after = ("whose update already used the bad loss" if self.step == bad_step
                 else f"{self.step - bad_step} more steps ran before the loss was checked")
        return (f"training diverged at step {bad_step}: d_loss={row['d_loss']}, g_loss={row['g_loss']}; {cause}. The "
                f"history keeps the steps before {bad_step}; the weights, optimisers and step are those after step "
                f"{self.step} ({after}), so they are not usable: load a checkpoint saved before step {bad_step}")

    def sampling_noise(self, n: int) -> torch.Tensor:
        """A batch of noise for looking at the generator, shape ``(n, latent_dim)``.

        It comes from :attr:`sample_rng`, a random-number generator of its own, never from the training
        stream (:attr:`rng`): sampling between calls to :meth:`train` changes no later training step.
        """
        return sample_noise(n, self.config.latent_dim, self.config.noise, self.sample_rng)

    @torch.no_grad()
    def sample(self, n: int | None = None, *, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Generate samples in eval mode (batch norm uses its running statistics), without gradients.

        Without ``noise``, ``n`` noise vectors (default ``n_fixed``) come from :meth:`sampling_noise`, so
        looking at the generator leaves the run as it was.

        Explained in the chapter "GAN training".
        """
        z = noise if noise is not None else self.sampling_noise(n if n is not None else self.config.n_fixed)
        with eval_mode(self.generator):
            return self.generator(z.to(self.device))

    def snapshot(self) -> torch.Tensor:
        """G's output on the fixed batch (:attr:`fixed_noise`), on the CPU: what :attr:`snapshots` store."""
        return self.sample(noise=self.fixed_noise).cpu()

    # -- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The whole training state as tensors, numbers, strings, lists and dicts.

        Besides the networks, optimisers, step, history and fixed noise it holds both random-number
        states (training and sampling) and the kind of device they belong to (``device_type``).
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
            "sample_rng": self.sample_rng.get_state(),
            "device_type": self.device.type,
            "fixed_noise": self.fixed_noise,
            "history": self.history,
            "snapshots": self.snapshots,
        }
        if self.distributed:
            state["rng_per_rank"] = dist_utils.gather_objects(self.rng.get_state())
        return state

    def save(self, path: str | os.PathLike) -> Path:
        """Write a checkpoint atomically: a temporary file in the same folder, then a rename.

        A crash while saving leaves the previous checkpoint untouched, never a half-written one. The
        file gets the permissions of any other new file (``0o666`` less the umask).
        Under torchrun every process calls ``save`` and only the first one (rank 0) writes.
        """
        path = Path(path)
        state = self.state_dict()
        if self.rank == 0:
            checkpoint.write_atomic(state, path)
        return path

    def load(self, path: str | os.PathLike) -> "GANTrainer":
        """Restore a checkpoint written by :meth:`save` into this trainer: all of it, or nothing.

        Everything is checked first (see :meth:`validate_state`): a file that cannot be read or does not
        fit this trainer raises a :class:`gancourse.checkpoint.CheckpointError` naming the file and the
        problem, and leaves the trainer exactly as it was. The config must agree on ``loss``,
        ``optimizer``, ``batch_size``, ``latent_dim``, ``noise``, ``n_fixed`` and ``precision``;
        the seed, learning rates and speed paths may differ (the random-number state and the rates
        come from the file; the speed paths are this trainer's).

        **Another kind of device.** A checkpoint saved on a GPU resumes on a CPU and the reverse (for
        example trained on Colab, continued on a laptop). Random-number states differ between kinds
        of device, so then both streams restart from the seed and the step, with a ``RuntimeWarning``:
        the run continues, but not with the batches it would have drawn where it was saved. A bf16
        run continues in fp32 (with a warning) where the new device has no bf16 arithmetic.

        Explained in the chapter "Scaling up" (checkpoints and resuming a run).
        """
        self.load_state(checkpoint.read(path, self.device), path)
        return self

    def validate_state(self, state: Any, path: str | os.PathLike = "<state>") -> None:
        """Check a training state read from a checkpoint against this trainer, changing nothing.

        Raises :class:`gancourse.checkpoint.CheckpointError` naming ``path`` and what does not fit: a
        missing key, a network or optimiser state of another shape or another kind of optimiser, a
        config that differs where it must not, a random-number state that no generator here takes,
        a malformed history or fixed batch. Subclasses that save more extend this method (call
        ``super().validate_state`` first), so that :meth:`load_state` checks the whole state before
        it changes anything.
        """
        checkpoint.check_keys(state, _STATE_KEYS, path)
        step = state["step"]
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise checkpoint.CheckpointError(f"checkpoint {os.fspath(path)!r}: its step should be an int >= 0, "
                                             f"got {step!r}")
        for name in ("generator", "discriminator"):
            checkpoint.check_shapes(getattr(self, name), state[name], name, path)
        checkpoint.compare_configs(state["config"], self.config, _MUST_MATCH, self.device, state.get("device_type"),
                                   path)
        checkpoint.check_optimizer(self.opt_g, state["opt_g"], "opt_g (the generator's optimiser)", path)
        checkpoint.check_optimizer(self.opt_d, state["opt_d"], "opt_d (the discriminator's optimiser)", path)
        self._restored_rngs(state, path)
        checkpoint.check_tensor(state["fixed_noise"], "fixed_noise", path, shape=(None, *self.fixed_noise.shape[1:]))
        history_columns = [k for k in self.history_keys if k != "d_acc"]  # d_acc is derived when missing
        checkpoint.check_history(state["history"], history_columns, path)
        snapshots = state["snapshots"]
        if not isinstance(snapshots, dict) or not all(isinstance(k, int) and isinstance(v, torch.Tensor)
                                                      for k, v in snapshots.items()):
            raise checkpoint.CheckpointError(f"checkpoint {os.fspath(path)!r}: its snapshots should be a dict "
                                             "{step: tensor}")

    def load_state(self, state: Any, path: str | os.PathLike = "<state>") -> None:
        """Restore the training state read from a checkpoint (``path`` only names it in messages).

        :meth:`validate_state` (this trainer's, with whatever subclasses add) runs first, so a state
        that does not fit changes nothing. Subclasses that save more (see :meth:`state_dict`) extend
        this method, calling ``super().load_state`` first, so a checkpoint is read once.
        """
        self.validate_state(state, path)
        # Checked: from here on nothing can fail. Build what is new, then change the trainer.
        rng, sample_rng, moved = self._restored_rngs(state, path)
        notes = checkpoint.compare_configs(state["config"], self.config, _MUST_MATCH, self.device,
                                           state.get("device_type"), path) + ([moved] if moved else [])
        for note in notes:
            warnings.warn(f"checkpoint {os.fspath(path)!r}: {note}", RuntimeWarning, stacklevel=3)
        history = {k: list(v) for k, v in state["history"].items()}
        if "d_acc" not in history:  # a checkpoint from before d_acc was a column
            history["d_acc"] = [(r + f) / 2 for r, f in zip(history["d_acc_real"], history["d_acc_fake"])]
        snapshots = {int(k): v.cpu() for k, v in state["snapshots"].items()}
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        for opt, key in ((self.opt_g, "opt_g"), (self.opt_d, "opt_d")):
            own = [{k: g.get(k) for k in ("fused", "foreach")} for g in opt.param_groups]
            opt.load_state_dict(state[key])
            for group, flags in zip(opt.param_groups, own):  # keep this trainer's fused_optimizer choice
                group.update(flags)
        self.step = state["step"]
        self.rng.set_state(rng)
        self.sample_rng.set_state(sample_rng)
        self.fixed_noise = state["fixed_noise"].to(self.device)
        self.history = history
        self.snapshots = snapshots
        self._pending = []

    def _restored_rngs(self, state: dict, path) -> tuple[torch.Tensor, torch.Tensor, str | None]:
        world = dist_utils.world_size() if self.distributed else 1
        return checkpoint.generator_states(state, path, device=self.device, rank=self.rank, world=world,
                                           seed=self.config.seed, sampling_offset=_SAMPLING_OFFSET)


def _optimizer(net: nn.Module, cfg: TrainConfig, lr: float) -> torch.optim.Optimizer:
    return make_optimizer(net.parameters(), cfg.optimizer, lr, betas=cfg.betas, fused=cfg.fused_optimizer)
