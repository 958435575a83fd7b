"""What the course trains, by name: the models, their training options and their learning-rate schedule.

A **recipe** is everything that defines a training run except its length and its seed: the networks,
the data, a :class:`~gancourse.train_config.TrainConfig`, the trainer class and a learning-rate schedule. The
chapters, the command line and the benchmarks build their runs from here, so that they all train the
same thing.

- :func:`mlp_gan`: the course's MLP GAN on 2-D points (the ring, the grid, the explorer's shapes).
- :class:`StepSchedule`: a step learning-rate schedule in fractions of the run, applied with
  :meth:`GANTrainer.set_lr_scale <gancourse.train.GANTrainer.set_lr_scale>`.
- :class:`Recipe`, :data:`RECIPES`, :func:`make_trainer`: the recipes of the command line
  (``python -m gancourse train --recipe ring``; chapter "Scaling up").
- :class:`MixtureRecipe`, :func:`train_recipe`, :func:`train_recipes`, :data:`BEST_MIXTURE_RECIPES`:
  one way of fighting mode collapse on the ring or the grid, trained and scored over many seeds
  (chapter "Common problems" and ``benchmarks/mode_collapse.py``).
- :func:`mean_se`, :func:`seed_summary`, :func:`summary_table`, :func:`verdict`: reading several
  seeds of such runs as mean ± standard error, and comparing two methods.

Explained in the chapters "Common problems" and "Scaling up".
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch
from torch import nn
from tqdm.auto import tqdm

from gancourse import data
from gancourse import distributed as dist_utils
from gancourse.metrics import mode_metrics
from gancourse.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from gancourse.noise import sample_noise
from gancourse.remedies import PackedDiscriminator
from gancourse.train import GANTrainer
from gancourse.train_config import TrainConfig

__all__ = ["mlp_gan", "StepSchedule", "Recipe", "RECIPES", "make_trainer", "MixtureRecipe", "MIXTURE_CONFIG",
           "RecipeResult", "train_recipe", "train_recipes", "STEP_DECAY", "BEST_MIXTURE_RECIPES", "SCORES", "mean_se",
           "seed_summary", "summary_table", "verdict"]


def mlp_gan(real, config: TrainConfig, *, g_hidden: tuple[int, ...] = (128, 128),
            d_hidden: tuple[int, ...] | None = None, pack: int = 1, trainer: type = GANTrainer, device=None,
            distributed: bool | None = None, **trainer_kwargs) -> GANTrainer:
    """The course's MLP GAN on 2-D points: fresh networks, initialised from ``config.seed``, and their trainer.

    The generator maps ``config.latent_dim`` noise numbers through hidden layers ``g_hidden`` to a
    point; the discriminator maps a point through ``d_hidden`` (default: the same widths) to one logit.

    Args:
        real: a name from :data:`gancourse.data.TOY_2D_NAMES` or a 2-D data source such as
            :func:`gancourse.data.ring` (a :class:`~gancourse.data.GaussianMixture` gives its ``dim``).
        config: the training options; its seed also seeds the initial weights (``torch.manual_seed``).
        pack: PacGAN packing degree: D judges ``pack`` samples at once
            (:class:`~gancourse.remedies.PackedDiscriminator`; 1 = no packing).
        trainer: :class:`~gancourse.train.GANTrainer` or a remedy's subclass of it; ``trainer_kwargs``
            are its own keyword arguments (e.g. ``unroll_steps=5``).
        device, distributed: passed to the trainer.

    Explained in the chapters "The generator", "GAN training" (the explorer) and "Common problems".
    """
    real = data.toy_2d(real) if isinstance(real, str) else real
    dim = getattr(real, "dim", 2)
    torch.manual_seed(config.seed)  # the initial weights
    generator = MLPGenerator(config.latent_dim, dim, tuple(g_hidden))
    discriminator: nn.Module = MLPDiscriminator(dim * pack, tuple(d_hidden if d_hidden is not None else g_hidden))
    if pack > 1:
        discriminator = PackedDiscriminator(discriminator, pack)
    if distributed is not None:
        trainer_kwargs["distributed"] = distributed
    return trainer(generator, discriminator, real, config, device, **trainer_kwargs)


@dataclass(frozen=True)
class StepSchedule:
    """A step learning-rate schedule: from a given fraction of the run on, both rates are multiplied by a factor.

    ``StepSchedule(((0.5, 0.1), (0.75, 0.01)))`` trains the first half of a run at the config's rates,
    the third quarter at a tenth of them and the last quarter at a hundredth. ``StepSchedule()`` keeps
    the rates constant. Fractions make one schedule fit any length of run (the command line's
    ``--steps``, the book's quick mode): in a run of ``total`` steps, the factor of fraction ``f``
    applies from the update that follows step ``round(f * total)``. Lowering the rate late in training
    removes most of the jitter that a constant rate leaves in the generator's samples.

    The rates are set with :meth:`GANTrainer.set_lr_scale <gancourse.train.GANTrainer.set_lr_scale>`
    (the optimisers keep their state): :meth:`apply` once before training (or after resuming), and
    :meth:`callback` as ``trainer.train(..., callback=...)``.

    Explained in the chapters "Common problems" and "Scaling up".
    """

    milestones: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        milestones = tuple((float(f), float(factor)) for f, factor in self.milestones)
        fractions = [f for f, _ in milestones]
        if any(not 0 < f < 1 for f in fractions) or fractions != sorted(set(fractions)):
            raise ValueError(f"milestone fractions must increase strictly within (0, 1), got {fractions}")
        if any(not factor > 0 for _, factor in milestones):
            raise ValueError(f"milestone factors must be positive, got {[factor for _, factor in milestones]}")
        object.__setattr__(self, "milestones", milestones)

    def factor(self, step: int, total: int) -> float:
        """The factor for the update that follows ``step`` finished steps of a ``total``-step run."""
        factor = 1.0
        for fraction, f in self.milestones:
            if step >= round(fraction * total):
                factor = f
        return factor

    def apply(self, trainer: GANTrainer, total: int) -> None:
        """Set ``trainer``'s learning rates for its next update of a ``total``-step run."""
        trainer.set_lr_scale(self.factor(trainer.step, total))

    def callback(self, total: int) -> Callable[[GANTrainer], None]:
        """A ``callback`` for :meth:`GANTrainer.train` that sets the rates at each milestone of a ``total``-step run."""
        starts = {round(fraction * total) for fraction, _ in self.milestones}

        def set_rates(trainer: GANTrainer) -> None:
            if trainer.step in starts:
                self.apply(trainer, total)

        return set_rates


# ---------------------------------------------------------------------------------------------
# The command line's recipes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """A model, its data and its training options, under a name the command line accepts.

    Attributes:
        name: the name given to ``--recipe``.
        description: one line for ``python -m gancourse recipes``.
        kind: ``"points"`` (2-D samples) or ``"images"``.
        steps: the default number of training steps.
        config: the :class:`~gancourse.train_config.TrainConfig` (``--seed``, ``--batch-size`` and the speed
            options replace some of its fields).
        build: ``build(config, device, distributed) -> GANTrainer``.
        schedule: the learning-rate schedule, in fractions of the run (so ``--steps`` stretches it).

    Explained in the chapter "Scaling up".
    """

    name: str
    description: str
    kind: str
    steps: int
    config: TrainConfig
    build: Callable[..., GANTrainer]
    schedule: StepSchedule = field(default_factory=StepSchedule)


def _points(mixture_name: str, hidden: tuple[int, ...]) -> Callable[..., GANTrainer]:
    def build(config: TrainConfig, device, distributed) -> GANTrainer:
        return mlp_gan(mixture_name, config, g_hidden=hidden, device=device, distributed=distributed)

    return build


def _dcgan(image_size: int, width: int) -> Callable[..., GANTrainer]:
    def build(config: TrainConfig, device, distributed) -> GANTrainer:
        images, _ = data.mnist_digits() if image_size == 28 else data.sklearn_digits()
        g = DCGANGenerator(config.latent_dim, image_size=image_size, width=width)
        d = DCGANDiscriminator(image_size=image_size, width=width)
        sampler = data.TensorSampler(images, device=device)
        return GANTrainer(g, d, sampler, config, device=device, distributed=distributed)

    return build


def _conditional(config: TrainConfig, device, distributed) -> GANTrainer:
    from gancourse.variations.conditional import ConditionalDiscriminator, ConditionalGANTrainer, ConditionalGenerator

    images, labels = data.mnist_digits()
    g = ConditionalGenerator(10, latent_dim=config.latent_dim)
    d = ConditionalDiscriminator(10)
    sampler = data.TensorSampler(images, labels, device=device)
    # ConditionalGANTrainer rewrites both updates without d_net/g_net, so under torchrun it refuses to
    # start (NotImplementedError) instead of letting the processes drift apart.
    return ConditionalGANTrainer(g, d, sampler, config, device=device)


#: Every recipe the command line knows, by name.
RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("ring", "MLP GAN on the ring of 8 Gaussians (std 0.01) of the PacGAN paper", "points", 4000,
               TrainConfig(latent_dim=2, batch_size=256, lr_g=1e-3, lr_d=1e-3, n_fixed=512),
               _points("ring", (256, 256)),
               StepSchedule(((0.5, 0.1), (0.75, 0.01)))),
        Recipe("grid", "MLP GAN on the grid of 25 Gaussians (std 0.05) of the PacGAN paper", "points", 6000,
               TrainConfig(latent_dim=2, batch_size=512, lr_g=1e-3, lr_d=1e-3, n_fixed=1024),
               _points("grid", (256, 256)),
               StepSchedule(((0.5, 0.2), (5 / 6, 0.05)))),
        Recipe("digits", "DCGAN on scikit-learn's 1,797 8x8 handwritten digits", "images", 3000,
               TrainConfig(latent_dim=32, batch_size=64), _dcgan(8, 32)),
        Recipe("mnist-dcgan", "DCGAN on the 5,000 real 28x28 MNIST digits shipped with gancourse", "images", 5000,
               TrainConfig(latent_dim=64, batch_size=64), _dcgan(28, 64)),
        Recipe("conditional", "conditional DCGAN on the 5,000 MNIST digits: choose the digit", "images", 5000,
               TrainConfig(latent_dim=64, batch_size=64, n_fixed=100), _conditional),
    )
}


def make_trainer(recipe: str | Recipe, *, device=None, distributed: bool | None = None, **overrides) -> GANTrainer:
    """Build the :class:`~gancourse.train.GANTrainer` of a recipe.

    Args:
        recipe: a name from :data:`RECIPES` (or a :class:`Recipe`).
        device: where to train; default :func:`gancourse.config.device`.
        distributed: passed to :class:`~gancourse.train.GANTrainer` (None: use DDP under torchrun).
        **overrides: :class:`~gancourse.train_config.TrainConfig` fields that replace the recipe's, e.g.
            ``seed=1`` or ``precision="bf16"``. The seed also seeds the networks' initial weights
            (``torch.manual_seed``), so two calls with the same seed start from the same networks.

    The recipe's learning-rate schedule is the caller's to follow (``recipe.schedule``).

    Explained in the chapter "Scaling up".
    """
    r = RECIPES.get(recipe) if isinstance(recipe, str) else recipe
    if r is None:
        raise ValueError(f"unknown recipe {recipe!r}; expected one of {', '.join(RECIPES)}")
    config = dataclasses.replace(r.config, **overrides)
    dev = torch.device(device) if device is not None else dist_utils.init_distributed().device
    torch.manual_seed(config.seed)  # the initial weights (under torchrun, rank 0's are copied to all)
    return r.build(config, dev, distributed)


# ---------------------------------------------------------------------------------------------
# Measuring a remedy on a 2-D mixture: one recipe, one seed, one score
# ---------------------------------------------------------------------------------------------

#: The training options of :class:`MixtureRecipe` unless a recipe gives its own: Adam at 1e-3 for both
#: players, batches of 256, 2 noise numbers; 500 fixed noise vectors for the snapshots.
MIXTURE_CONFIG = TrainConfig(latent_dim=2, batch_size=256, lr_g=1e-3, lr_d=1e-3, log_every=100, n_fixed=500)


@dataclass(frozen=True)
class MixtureRecipe:
    """Everything that defines one way of training an MLP GAN on a 2-D mixture of Gaussians.

    Attributes:
        name: the label used in tables.
        config: the :class:`~gancourse.train_config.TrainConfig` (its seed is replaced by each run's).
        trainer: the trainer class, :class:`~gancourse.train.GANTrainer` or one of the remedies.
        trainer_kwargs: keyword arguments of the remedy (e.g. ``{"unroll_steps": 5}``).
        g_hidden, d_hidden: hidden-layer widths of the generator and the discriminator (:func:`mlp_gan`).
        pack: PacGAN packing degree (1 = no packing; see :class:`~gancourse.remedies.PackedDiscriminator`).
        schedule: the learning-rate :class:`StepSchedule`, in fractions of the run.

    :meth:`variant` makes a recipe that differs in a few settings, e.g.
    ``base.variant(name="WGAN-GP", loss="wasserstein", gp_weight=0.1)``.

    Explained in the chapter "Common problems".
    """

    name: str
    config: TrainConfig = MIXTURE_CONFIG
    trainer: type = GANTrainer
    trainer_kwargs: Mapping[str, Any] = field(default_factory=dict)
    g_hidden: tuple[int, ...] = (128, 128)
    d_hidden: tuple[int, ...] = (128, 128)
    pack: int = 1
    schedule: StepSchedule = field(default_factory=StepSchedule)

    def __post_init__(self) -> None:
        if not isinstance(self.trainer, type) or not issubclass(self.trainer, GANTrainer):
            raise ValueError(f"trainer must be GANTrainer or a subclass of it, got {self.trainer!r}")
        for name, kind in (("config", TrainConfig), ("schedule", StepSchedule)):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"{name} must be a {kind.__name__}, got {getattr(self, name)!r}")
        batch = self.config.batch_size
        if not isinstance(self.pack, int) or self.pack < 1 or batch % self.pack:
            raise ValueError(f"pack must be a positive int dividing batch_size ({batch}), got {self.pack!r}")

    def variant(self, **changes) -> "MixtureRecipe":
        """A copy with ``changes``: :class:`~gancourse.train_config.TrainConfig` fields go into its config, the rest
        replace the recipe's own (``name``, ``trainer``, ``pack``, ...)."""
        config_fields = {f.name for f in dataclasses.fields(TrainConfig)}
        to_config = {k: v for k, v in changes.items() if k in config_fields}
        own = {k: v for k, v in changes.items() if k not in config_fields}
        if to_config:
            own["config"] = dataclasses.replace(own.get("config", self.config), **to_config)
        return dataclasses.replace(self, **own)

    def build(self, mixture, seed: int, device=None) -> GANTrainer:
        """Fresh networks (initialised from ``seed``) and a trainer for ``mixture``."""
        config = dataclasses.replace(self.config, seed=seed)
        return mlp_gan(mixture, config, g_hidden=self.g_hidden, d_hidden=self.d_hidden, pack=self.pack,
                       trainer=self.trainer, device=device, **dict(self.trainer_kwargs))


@dataclass(frozen=True, eq=False)
class RecipeResult:
    """One trained recipe: the trainer, its scores on fresh samples, and the training time.

    Attributes:
        trainer: the trained :class:`~gancourse.train.GANTrainer` (or subclass).
        metrics: :class:`gancourse.metrics.ModeMetrics` of ``n_samples`` samples drawn in eval mode.
        samples: those samples, on the CPU.
        seconds: wall-clock training time; ``cpu_seconds``: CPU time of this process while training.

    Explained in the chapter "Common problems".
    """

    trainer: GANTrainer
    metrics: Any
    samples: torch.Tensor
    seconds: float
    cpu_seconds: float


def train_recipe(recipe: MixtureRecipe, mixture, steps: int, seed: int, *, n_samples: int = 2500,
                 device=None, snapshot_every: int | None = None) -> RecipeResult:
    """Train ``recipe`` on ``mixture`` for ``steps`` steps from ``seed`` and score it.

    The learning rates follow ``recipe.schedule``; afterwards ``n_samples`` samples are drawn in eval mode
    from noise seeded by ``seed`` and scored with :func:`gancourse.metrics.mode_metrics` (modes captured,
    share of high-quality samples, reverse KL), as in the PacGAN and VEEGAN papers (2,500 samples).

    Explained in the chapter "Common problems".
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    trainer = recipe.build(mixture, seed, device)
    wall, cpu = time.perf_counter(), time.process_time()
    recipe.schedule.apply(trainer, steps)
    trainer.train(steps, snapshot_every=snapshot_every, callback=recipe.schedule.callback(steps), progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rng = torch.Generator(device=trainer.device).manual_seed(10_000 + seed)
    z = sample_noise(n_samples, trainer.config.latent_dim, trainer.config.noise, rng)
    samples = trainer.sample(noise=z).cpu()
    return RecipeResult(trainer, mode_metrics(samples, mixture), samples, wall, cpu)


def _one_thread() -> None:
    """Worker initialiser: one PyTorch thread per process, so that the processes share the cores."""
    torch.set_num_threads(1)


def _clean_context() -> multiprocessing.context.BaseContext:
    """Processes started from a fresh interpreter, never forked from this (maybe threaded) one.

    A fork server imports gancourse once and forks each worker from that clean process, so later
    calls start their workers in milliseconds; where there is none (Windows), workers are spawned.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["gancourse.recipes"])
        return context
    return multiprocessing.get_context("spawn")


def _train_job(job: tuple, n_samples: int, snapshot_every: int | None, device="cpu") -> RecipeResult:
    recipe, mixture, steps, seed = job
    return train_recipe(recipe, mixture, steps, seed, n_samples=n_samples, device=device, snapshot_every=snapshot_every)


def train_recipes(jobs, *, workers: int | None = None, device=None, n_samples: int = 2500,
                  snapshot_every: int | None = None, progress: bool = True) -> list[RecipeResult]:
    """Train and score many runs, ``jobs = [(recipe, mixture, steps, seed), ...]``, in order.

    The MLPs of the 2-D mixtures are too small to keep several cores busy from one process (each step
    is mostly the overhead of a few hundred tiny operations), so on a CPU the runs go to ``workers``
    processes with one thread each (default: one per core, at most one per job). Each run is
    :func:`train_recipe` with its seed, so the results do not depend on the number of workers. On a
    GPU, or with ``workers=1``, the runs train one after another in this process on ``device``.
    ``n_samples`` and ``snapshot_every`` are passed on to :func:`train_recipe`. The workers come from a
    fresh interpreter (a fork server, or "spawn"), so trainer classes must be importable from a module
    (all of :mod:`gancourse.remedies` are), and a script must call this under ``if __name__ == "__main__":``.

    Explained in the chapter "Common problems".
    """
    jobs = list(jobs)
    for i, job in enumerate(jobs):
        if not (isinstance(job, tuple) and len(job) == 4 and isinstance(job[0], MixtureRecipe)):
            raise ValueError(f"jobs[{i}] must be a tuple (recipe, mixture, steps, seed) with a MixtureRecipe, "
                             f"got {job!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive int or None, got {workers!r}")
    on_cpu = device is None or torch.device(device).type == "cpu"
    if workers is None:
        workers = min(os.cpu_count() or 1, len(jobs)) if on_cpu else 1
    bar = tqdm(total=len(jobs), disable=not progress, desc="runs", leave=False)
    try:
        if workers == 1 or not on_cpu or len(jobs) < 2:
            results = []
            for job in jobs:
                results.append(_train_job(job, n_samples, snapshot_every, device))
                bar.update()
            return results
        with ProcessPoolExecutor(max_workers=workers, mp_context=_clean_context(), initializer=_one_thread) as pool:
            futures = [pool.submit(_train_job, job, n_samples, snapshot_every) for job in jobs]
            try:
                for _ in as_completed(futures):
                    bar.update()
                return [future.result() for future in futures]
            except BrokenProcessPool as err:
                raise RuntimeError("a worker process of train_recipes died before it finished. In a script, call "
                                   "train_recipes under `if __name__ == \"__main__\":` (the workers import the "
                                   "script); or pass workers=1 to train in this process") from err
    finally:
        bar.close()


#: The learning-rate schedule of the best recipes: 60% of the steps at the base rates, the next 30% at a
#: fifth of them, the last 10% at a twentieth.
STEP_DECAY = StepSchedule(((0.6, 0.2), (0.9, 0.05)))

#: The best recipe this course found for each 2-D mixture, with its number of training steps; trained
#: over 10 seeds by ``benchmarks/mode_collapse.py`` and over fewer in the chapter "Common problems".
BEST_MIXTURE_RECIPES: dict[str, tuple[MixtureRecipe, int]] = {
    "ring": (MixtureRecipe("Best recipe (ring)", dataclasses.replace(MIXTURE_CONFIG, batch_size=512, lr_d=4e-3),
                           schedule=STEP_DECAY), 8000),
    "grid": (MixtureRecipe("Best recipe (grid)", dataclasses.replace(MIXTURE_CONFIG, batch_size=512, lr_d=4e-3),
                           schedule=STEP_DECAY), 7000),
}


# ---------------------------------------------------------------------------------------------
# Reading several seeds: mean, standard error, and a verdict against a baseline
# ---------------------------------------------------------------------------------------------

#: The three mode scores of a summary: key -> (column title, whether higher is better).
SCORES: dict[str, tuple[str, bool]] = {
    "modes": ("modes captured", True),
    "hq": ("high quality %", True),
    "kl": ("reverse KL", False),
}


def mean_se(values) -> tuple[float, float]:
    """Mean and standard error of the mean, ``s / sqrt(n)`` with the sample standard deviation s.

    With a single value the standard error is reported as 0 (there is no spread to measure).

    Explained in the chapter "Common problems".
    """
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_se needs at least one value")
    n = len(values)
    mean = sum(values) / n
    if n == 1:
        return mean, 0.0
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(variance / n)


def seed_summary(metrics) -> dict[str, tuple[float, float]]:
    """Mean and standard error over seeds of the three mode scores of :func:`gancourse.metrics.mode_metrics`.

    ``metrics`` is a list of :class:`~gancourse.metrics.ModeMetrics`, one per seed. Returns
    ``{"modes": (mean, se), "hq": (mean, se), "kl": (mean, se)}``: modes captured, high-quality
    samples in percent, and reverse KL (see :data:`SCORES`).

    Explained in the chapter "Common problems".
    """
    metrics = list(metrics)
    if not metrics or not all(hasattr(m, "modes_captured") for m in metrics):
        raise ValueError("metrics must be a non-empty list of ModeMetrics (one per seed)")
    return {"modes": mean_se([m.modes_captured for m in metrics]),
            "hq": mean_se([100 * m.high_quality for m in metrics]),
            "kl": mean_se([m.reverse_kl for m in metrics])}


def summary_table(rows: Mapping[str, Mapping[str, tuple[float, float]]], n_modes: int, label: str = "method") -> str:
    """A Markdown pipe table, one row per method: ``mean ± se`` of each score of :func:`seed_summary`.

    ``rows`` maps a method's name to its summary; ``n_modes`` goes into the modes column's title and
    ``label`` is the first column's. Show it with ``IPython.display.Markdown``.

    Explained in the chapters "The generator" and "Common problems".
    """
    if not rows:
        raise ValueError("rows is empty: pass at least one method -> seed_summary(...)")
    lines = [f"| {label} | modes captured (of {n_modes}) | high quality % | reverse KL |", "|---|---|---|---|"]
    for method, s in rows.items():
        missing = set(SCORES) - set(s)
        if missing:
            raise ValueError(f"rows[{method!r}] lacks {sorted(missing)}; pass seed_summary(...)")
        lines.append(f"| {method} | {s['modes'][0]:.1f} ± {s['modes'][1]:.1f} | {s['hq'][0]:.1f} ± {s['hq'][1]:.1f} "
                     f"| {s['kl'][0]:.2f} ± {s['kl'][1]:.2f} |")
    return "\n".join(lines)


def verdict(base: tuple[float, float], other: tuple[float, float], higher_is_better: bool,
            k: float = 2.0) -> str:
    """Compare two ``(mean, se)`` scores: ``"better"``, ``"worse"`` or ``"no clear change"``.

    A difference counts only when ``|m_other - m_base| > k * sqrt(se_base^2 + se_other^2)``, that is
    more than k combined standard errors (k = 2: about a 95% two-sided test for roughly normal means).
    ``higher_is_better`` says which direction is better (see :data:`SCORES`).

    Explained in the chapter "Common problems".
    """
    if not k > 0:
        raise ValueError(f"k must be positive, got {k}")
    (m0, s0), (m1, s1) = base, other
    if abs(m1 - m0) <= k * math.hypot(s0, s1):
        return "no clear change"
    return "better" if (m1 > m0) == higher_is_better else "worse"
