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

Explained in the chapters "GAN training" (the loop) and "Welcome" (a first run).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn
from tqdm.auto import tqdm

from gancourse.config import device as default_device
from gancourse.losses import clip_weights, get_loss, gradient_penalty

__all__ = ["TrainConfig", "GANTrainer", "HISTORY_KEYS", "sample_noise"]

#: The statistics recorded at every step, in the order of each history row.
HISTORY_KEYS = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake", "d_real", "d_fake")


@dataclass
class TrainConfig:
    """Options of a GAN training run.

    Attributes:
        latent_dim: size of the noise vector z.
        batch_size: real and fake examples per update (each).
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

    Explained in the chapter "GAN training".
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
        self.betas = tuple(self.betas)


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


def _make_optimizer(params: Iterable[nn.Parameter], cfg: TrainConfig, lr: float) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=cfg.betas)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.SGD(params, lr=lr)


class GANTrainer:
    """Train a generator against a discriminator with alternating updates.

    Args:
        generator: maps noise ``(N, latent_dim)`` to samples.
        discriminator: maps samples to one logit (or critic score) each, shape ``(N,)``.
        real: the real data, a callable ``real(batch_size, generator)`` (for example a
            :class:`gancourse.data.TensorSampler` or a :class:`gancourse.data.GaussianMixture`).
        config: a :class:`TrainConfig`.
        device: where to train; default :func:`gancourse.config.device`.

    Explained in the chapter "GAN training".
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, real: Callable, config: TrainConfig | None = None,
                 device=None):
        self.config = cfg = config if config is not None else TrainConfig()
        self.device = torch.device(device) if device is not None else default_device()
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        self.real = real
        self.loss = get_loss(cfg.loss)
        self.opt_g = _make_optimizer(self.generator.parameters(), cfg, cfg.lr_g)
        self.opt_d = _make_optimizer(self.discriminator.parameters(), cfg, cfg.lr_d)
        self.rng = torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.fixed_noise = self.noise(cfg.n_fixed)
        self.step = 0
        self.history: dict[str, list[float]] = {"step": [], **{k: [] for k in HISTORY_KEYS}}
        self.snapshots: dict[int, torch.Tensor] = {}
        self._pending: list[torch.Tensor] = []  # per-step statistics not yet copied to the host

    # -- the two updates --------------------------------------------------------------------
    def noise(self, n: int) -> torch.Tensor:
        """A batch of noise from the trainer's generator, shape ``(n, latent_dim)``."""
        return sample_noise(n, self.config.latent_dim, self.config.noise, self.rng)

    def discriminator_step(self) -> torch.Tensor:
        """One D update on a real batch and a fake batch; G is not updated (its output is detached)."""
        cfg, d = self.config, self.discriminator
        real = self.real(cfg.batch_size, self.rng)
        with torch.no_grad():
            fake = self.generator(self.noise(cfg.batch_size))
        real_out, fake_out = d(real), d(fake)
        loss = self.loss.d(real_out, fake_out)
        if cfg.gp_weight > 0:
            loss = loss + cfg.gp_weight * gradient_penalty(d, real, fake, self.rng)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        if cfg.clip_value is not None:
            clip_weights(d, cfg.clip_value)
        real_out, fake_out = real_out.detach(), fake_out.detach()
        t = self.loss.threshold
        mean_of = torch.sigmoid if self.loss.outputs_probability else (lambda v: v)
        return torch.stack([loss.detach(), (real_out > t).float().mean(), (fake_out <= t).float().mean(),
                            mean_of(real_out).mean(), mean_of(fake_out).mean()])

    def generator_step(self) -> torch.Tensor:
        """One G update: the gradient flows back through D into G, but D's weights are frozen."""
        self.discriminator.requires_grad_(False)
        try:
            fake_out = self.discriminator(self.generator(self.noise(self.config.batch_size)))
            loss = self.loss.g(fake_out)
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

    # -- the loop ---------------------------------------------------------------------------
    def train(self, steps: int, *, snapshot_every: int | None = None, callback: Callable | None = None,
              callback_every: int = 1, progress: bool = True) -> dict[str, list[float]]:
        """Run ``steps`` training steps and return the history.

        Args:
            steps: number of steps (each: k D updates and one G update).
            snapshot_every: store ``G(fixed_noise)`` in :attr:`snapshots` every this many steps (and
                before the first step of a fresh run).
            callback: called as ``callback(trainer)`` every ``callback_every`` steps (for animations).
            progress: show a tqdm progress bar.
        """
        if not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be a non-negative int, got {steps!r}")
        if snapshot_every is not None and self.step == 0 and 0 not in self.snapshots:
            self.snapshots[0] = self.sample(noise=self.fixed_noise).cpu()
        bar = tqdm(total=steps, disable=not progress, desc="training", leave=False)
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
        """Copy pending statistics to :attr:`history` (one host synchronisation); stop on a bad loss."""
        if not self._pending:
            return
        rows = torch.stack(self._pending).cpu()  # (n, len(HISTORY_KEYS))
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
        """The whole training state as tensors, numbers, strings, lists and dicts."""
        self.flush()
        return {
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

    def save(self, path: str | os.PathLike) -> Path:
        """Write a checkpoint atomically: a temporary file in the same folder, then a rename.

        A crash while saving leaves the previous checkpoint untouched, never a half-written one.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(self.state_dict(), f)
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
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.rng.set_state(state["rng"].cpu())
        self.fixed_noise = state["fixed_noise"].to(self.device)
        self.step = int(state["step"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.snapshots = {int(k): v for k, v in state["snapshots"].items()}
        self._pending = []
        return self


def _check_shapes(model: nn.Module, saved: dict, name: str, path) -> None:
    own = model.state_dict()
    problems = [f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
                for k, v in saved.items() if k in own and own[k].shape != v.shape]
    missing, extra = sorted(set(own) - set(saved)), sorted(set(saved) - set(own))
    if problems or missing or extra:
        details = "; ".join(problems[:3] + [f"missing {m}" for m in missing[:3]] + [f"unexpected {e}" for e in extra[:3]])
        raise ValueError(f"checkpoint {os.fspath(path)!r} holds a {name} of another shape than this trainer's: {details}")
