"""Animations of training, and the 1-D density pictures that several chapters share.

- :func:`snapshot_1d` records a 1-D GAN at one moment: the data density, the generator's density, the
  discriminator's curve and the mapping ``z -> x = G(z)`` (the generator's density estimated with
  :func:`gancourse.metrics.kde_1d`); :func:`plot_snapshot_1d` draws it in the
  style of Figure 1 of the original GAN paper (Goodfellow et al., "Generative adversarial nets",
  NeurIPS 2014), and :func:`figure1_animation` trains a 1-D GAN and animates that figure.
- :func:`explorer_animation` trains a GAN on 2-D points with the explorer of
  :mod:`gancourse.explorer` and animates its picture: points over D's heatmap with arrows, losses
  and D's accuracy. In a static web page it stands in for the live explorer.

Animations are matplotlib ``FuncAnimation`` objects whose figure is already closed (so no extra
static figure appears in a notebook); show one with :func:`animation_html`, which is
``IPython.display.HTML(anim.to_jshtml())`` with alt text on the frame image.
Training happens when the function is called; drawing happens when the frames are rendered. Every
animation keeps what it recorded in ``anim.snapshots`` (1-D) or ``anim.views`` (2-D).

Explained in the chapter "GAN training".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.animation import FuncAnimation

from gancourse.explorer import Explorer, draw_view
from gancourse.metrics import kde_1d
from gancourse.models import eval_mode
from gancourse.noise import sample_noise
from gancourse.plot import FAKE_COLOR, OKABE_ITO, REAL_COLOR, moving_average
from gancourse.train import GANTrainer

__all__ = ["Snapshot1D", "snapshot_1d", "plot_snapshot_1d", "figure1_animation", "explorer_animation",
           "animation_html", "D_COLOR"]

#: Colour of the discriminator's curve (Okabe-Ito black); the data is blue and the generator vermilion.
D_COLOR = OKABE_ITO[7]

_MAX_FRAMES = 100


@dataclass
class Snapshot1D:
    """A 1-D GAN at one training step, ready to draw.

    Attributes:
        step: the trainer's step.
        x: ``(m,)`` grid of points on the real line.
        p_data: the data density on ``x``.
        p_g: the generator's density on ``x`` (a kernel estimate from its samples).
        d: D's output on ``x``: ``sigmoid(logit)`` for the classifier losses, else raw scores.
        probability: whether ``d`` is a probability.
        z_quantile: ``(k,)`` positions of the noise values drawn on the z line, as quantiles in (0, 1).
        z_x: ``(k,)`` where the generator sends those noise values, ``G(z)``.
        g_mean, g_std: mean and standard deviation of the generator's samples.
        accuracy: D's accuracy at every step so far (the history's ``d_acc``: the mean of its
            accuracy on real and on fake).

    Explained in the chapter "GAN training".
    """

    step: int
    x: torch.Tensor
    p_data: torch.Tensor
    p_g: torch.Tensor
    d: torch.Tensor
    probability: bool
    z_quantile: torch.Tensor | None
    z_x: torch.Tensor | None
    g_mean: float
    g_std: float
    accuracy: list[float]


def _noise_quantiles(k: int, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """k noise values at evenly spaced quantiles of U[-1, 1] or N(0, 1), and those quantiles."""
    q = (torch.arange(k, dtype=torch.float32) + 0.5) / k
    z = q * 2 - 1 if kind == "uniform" else math.sqrt(2) * torch.erfinv(2 * q - 1)
    return z[:, None], q


@torch.no_grad()
def snapshot_1d(trainer: GANTrainer, data, x: torch.Tensor, *, n_samples: int = 2000, n_lines: int = 24,
                seed: int = 0) -> Snapshot1D:
    """Record a 1-D GAN at its current step (the trainer's random numbers are not touched).

    Args:
        trainer: a trainer whose generator makes ``(N, 1)`` samples and whose discriminator reads them.
        data: the real distribution: anything with ``pdf`` (a 1-D
            :class:`gancourse.data.GaussianMixture`), or a callable sampler, whose density is then
            estimated with :func:`gancourse.metrics.kde_1d`.
        x: ``(m,)`` grid on which to evaluate the densities and D.
        n_samples: generator samples for its density estimate (from a fixed noise batch).
        n_lines: noise values drawn on the z line when the noise is 1-D (0 for none).
        seed: seeds the fixed noise batch (the same at every call, so frames are comparable).

    Explained in the chapter "GAN training".
    """
    x = torch.as_tensor(x, dtype=torch.float32).reshape(-1)
    cfg = trainer.config
    gen = torch.Generator(device=trainer.device).manual_seed(seed)
    z = sample_noise(n_samples, cfg.latent_dim, cfg.noise, gen)
    samples = trainer.sample(noise=z).cpu()
    if samples.dim() != 2 or samples.shape[1] != 1:
        raise ValueError(f"snapshot_1d needs a generator of 1-D samples, shape (N, 1); got {tuple(samples.shape)}")
    samples = samples[:, 0]
    if hasattr(data, "pdf"):
        p_data = data.pdf(x[:, None]).float()
    elif callable(data):
        p_data = kde_1d(data(n_samples, torch.Generator().manual_seed(seed)).cpu(), x)
    else:
        raise TypeError("data must have a pdf method (a 1-D GaussianMixture) or be a sampler data(n, generator)")
    with eval_mode(trainer.discriminator):
        out = trainer.discriminator(x[:, None].to(trainer.device)).cpu()
    probability = trainer.loss.outputs_probability
    z_quantile = z_x = None
    if n_lines and cfg.latent_dim == 1:
        z_lines, z_quantile = _noise_quantiles(n_lines, cfg.noise)
        z_x = trainer.sample(noise=z_lines.to(trainer.device)).cpu()[:, 0]
    trainer.flush()
    accuracy = list(trainer.history["d_acc"])
    finite = samples[torch.isfinite(samples)]
    return Snapshot1D(
        step=trainer.step, x=x, p_data=p_data, p_g=kde_1d(samples, x), d=torch.sigmoid(out) if probability else out,
        probability=probability, z_quantile=z_quantile, z_x=z_x,
        g_mean=float(finite.mean()) if finite.numel() else math.nan,
        g_std=float(finite.std()) if finite.numel() > 1 else math.nan, accuracy=accuracy,
    )


def plot_snapshot_1d(snap: Snapshot1D, ax: plt.Axes, ax_map: plt.Axes | None = None, *, ymax: float | None = None,
                     legend: bool = True, title: str | None = None) -> plt.Axes:
    """Draw a :class:`Snapshot1D` in the style of Figure 1 of Goodfellow et al. (2014).

    On ``ax``: the data density (blue, filled), the generator's density (vermilion) and D's curve
    (black, dashed; for losses without probabilities, the scores rescaled to [0, 1]). On ``ax_map``
    (optional, below): the noise line z and the data line x, with a line from each drawn noise value
    to the point ``G(z)`` it is mapped to; where lines bunch up, the generator piles up probability.

    Explained in the chapter "GAN training".
    """
    x = snap.x.numpy()
    d = snap.d
    d_label = "discriminator D(x)"
    if not snap.probability:
        lo, hi = float(d.min()), float(d.max())
        d = (d - lo) / (hi - lo) if hi > lo else torch.full_like(d, 0.5)
        d_label = "critic score (rescaled)"
    top = ymax if ymax is not None else max(1.05, 1.25 * float(snap.p_data.max()))
    ax.fill_between(x, snap.p_data.numpy(), color=REAL_COLOR, alpha=0.25, linewidth=0)
    ax.plot(x, snap.p_data.numpy(), color=REAL_COLOR, linestyle=":", linewidth=2, label="data density")
    ax.plot(x, snap.p_g.clamp(max=2 * top).numpy(), color=FAKE_COLOR, linewidth=2, label="generator density")
    ax.plot(x, d.numpy(), color=D_COLOR, linestyle="--", linewidth=1.5, label=d_label)
    if snap.probability:
        ax.axhline(0.5, color="grey", linewidth=0.8, linestyle="-", alpha=0.5)
    ax.set(xlim=(x[0], x[-1]), ylim=(0, top), ylabel="density, and D(x)")
    ax.set_title(title if title is not None else f"step {snap.step}")
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.8)
    if ax_map is None:
        ax.set_xlabel("x")
        return ax
    ax.tick_params(labelbottom=False)
    ax_map.set(xlim=(x[0], x[-1]), ylim=(-0.15, 1.15), xlabel="x")
    ax_map.set_yticks([0, 1], labels=["z", "x"])
    ax_map.axhline(0, color="grey", linewidth=1)
    ax_map.axhline(1, color="grey", linewidth=1)
    if snap.z_x is not None:
        span = x[-1] - x[0]
        z_pos = x[0] + snap.z_quantile.numpy() * span
        for start, end in zip(z_pos, snap.z_x.numpy()):
            ax_map.annotate("", xy=(end, 1), xytext=(start, 0),
                            arrowprops={"arrowstyle": "->", "color": FAKE_COLOR, "alpha": 0.6, "linewidth": 0.8})
    return ax


def _frame_steps(start: int, steps: int, frames: int) -> list[int]:
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if not isinstance(frames, int) or isinstance(frames, bool) or not 2 <= frames <= _MAX_FRAMES:
        raise ValueError(f"frames must be an int from 2 to {_MAX_FRAMES}, got {frames!r}")
    marks = torch.linspace(start, start + steps, frames).round().long().tolist()
    return sorted(set(marks))


def _train_to(trainer_step: Callable[[int], None], now: int, target: int) -> None:
    if target > now:
        trainer_step(target - now)


def figure1_animation(trainer: GANTrainer, data, steps: int, frames: int = 20, *,
                      x_range: Sequence[float] | None = None, n_samples: int = 2000, n_lines: int = 24,
                      accuracy: bool = True, figsize: Sequence[float] = (8.0, 3.4), dpi: int = 70,
                      interval: int = 250) -> FuncAnimation:
    """Train a 1-D GAN for ``steps`` steps and animate Figure 1 of Goodfellow et al. (2014) over them.

    Each of the ``frames`` frames (evenly spaced over the run, the first before any training) shows
    the data density, the generator's density, D's curve and, for 1-D noise, the mapping
    ``z -> G(z)`` (:func:`plot_snapshot_1d`); with ``accuracy``, a second panel plots D's accuracy so
    far against the 50% of a coin toss. The trainer is left trained (``steps`` more steps) and the
    frames' snapshots are kept in ``anim.snapshots``.

    Args:
        trainer: a :class:`gancourse.train.GANTrainer` of a 1-D generator and discriminator.
        data: the real distribution (see :func:`snapshot_1d`).
        steps: training steps to run.
        frames: number of frames, 2 to 100 (keep it small: every frame is an image in the page).
        x_range: ``(xmin, xmax)`` shown; default: covers the data and the untrained generator.
        n_samples, n_lines: see :func:`snapshot_1d`.
        accuracy: add the accuracy panel.
        figsize, dpi: size of each frame.
        interval: milliseconds between frames when played.

    Explained in the chapter "GAN training".
    """
    marks = _frame_steps(trainer.step, steps, frames)
    if x_range is None:
        x_range = _default_range(trainer, data, n_samples)
    xmin, xmax = (float(v) for v in x_range)
    if not xmax > xmin:
        raise ValueError(f"x_range must be (xmin, xmax) with xmin < xmax, got {tuple(x_range)}")
    grid = torch.linspace(xmin, xmax, 300)
    snaps = []
    for mark in marks:
        _train_to(lambda n: trainer.train(n, progress=False), trainer.step, mark)
        snaps.append(snapshot_1d(trainer, data, grid, n_samples=n_samples, n_lines=n_lines))
    ymax = max(1.05, 1.25 * float(snaps[0].p_data.max()))
    first, last = marks[0], marks[-1]
    window = max(1, (last - first) // 40)

    fig = plt.figure(figsize=tuple(figsize), dpi=dpi)
    grid_spec = fig.add_gridspec(2, 2 if accuracy else 1, height_ratios=[3, 1],
                                 width_ratios=[1.6, 1] if accuracy else [1], hspace=0.08, wspace=0.3,
                                 left=0.08, right=0.98, bottom=0.15, top=0.9)
    ax = fig.add_subplot(grid_spec[0, 0])
    ax_map = fig.add_subplot(grid_spec[1, 0], sharex=ax)
    ax_acc = fig.add_subplot(grid_spec[:, 1]) if accuracy else None

    def draw(i: int):
        snap = snaps[i]
        ax.clear()
        ax_map.clear()
        plot_snapshot_1d(snap, ax, ax_map, ymax=ymax, title=f"A 1-D GAN at step {snap.step}")
        if ax_acc is not None:
            ax_acc.clear()
            acc = snap.accuracy[first:] if first else snap.accuracy
            if acc:
                smoothed = moving_average(acc, window)
                keep = torch.linspace(0, len(acc) - 1, min(len(acc), 200)).round().long().unique()  # light frames
                ax_acc.plot((keep + first + 1).numpy(), smoothed[keep].numpy(), color=D_COLOR, label="D's accuracy")
            ax_acc.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance (50%)")
            ax_acc.set(xlim=(first, last), ylim=(-0.02, 1.02), xlabel="training step", ylabel="accuracy",
                       title="D's accuracy so far")
            ax_acc.legend(loc="lower left", fontsize="small")
        return []

    anim = FuncAnimation(fig, draw, frames=len(snaps), interval=interval, blit=False, repeat=True)
    plt.close(fig)
    anim.snapshots = snaps
    return anim


def _default_range(trainer: GANTrainer, data, n_samples: int) -> tuple[float, float]:
    gen = torch.Generator().manual_seed(0)
    if not callable(data):
        raise TypeError("data must be callable as data(n, generator) to find a default x_range; pass x_range")
    real = data(n_samples, gen).reshape(-1).cpu()
    cfg = trainer.config
    z = sample_noise(n_samples, cfg.latent_dim, cfg.noise, torch.Generator(device=trainer.device).manual_seed(0))
    fake = trainer.sample(noise=z).reshape(-1).cpu()
    tails = torch.tensor([0.001, 0.999])
    both = torch.cat([torch.quantile(real, tails), torch.quantile(fake, tails)])
    lo, hi = float(both.min()), float(both.max())
    pad = 0.15 * max(hi - lo, 1.0)
    return lo - pad, hi + pad


def explorer_animation(distribution="ring", loss: str = "nonsaturating", steps: int = 1000, frames: int = 20, *,
                       figsize: Sequence[float] = (10.5, 3.3), dpi: int = 70, resolution: int = 50,
                       interval: int = 300, **settings) -> FuncAnimation:
    """Train a GAN on 2-D points with the explorer and animate its picture: a stand-in for the live widget.

    Each frame (evenly spaced over ``steps`` training steps, the first before any training) shows the
    real and generated points over D's heatmap with an arrow on every generated point (where the
    generator's update pushes it), the two losses so far and D's accuracy so far
    (:func:`gancourse.explorer.draw_view`).

    Args:
        distribution: a name from :data:`gancourse.data.TOY_2D_NAMES`, or an existing
            :class:`gancourse.explorer.Explorer` to continue (then ``loss`` and ``settings`` must be
            left out); it is left trained.
        loss: a name from :data:`gancourse.losses.LOSSES`.
        steps: training steps; frames: 2 to 100.
        settings: more settings, as :meth:`gancourse.explorer.ExplorerSettings.changed` takes them: the
            explorer's own (``distribution``, ``hidden``, ``n_points``) or
            :class:`~gancourse.train_config.TrainConfig` fields (``d_steps``, ``lr_d``, ``lr_g``, ``seed``, ...).

    The recorded :class:`gancourse.explorer.ExplorerView` objects are kept in ``anim.views`` and the
    explorer in ``anim.explorer``.

    Explained in the chapter "GAN training".
    """
    if isinstance(distribution, Explorer):
        if settings or loss != "nonsaturating":
            raise ValueError("when distribution is an Explorer, give no loss or settings: they are the explorer's")
        ex = distribution
    else:
        ex = Explorer(distribution=distribution, loss=loss, **settings)
    marks = _frame_steps(ex.steps_done, steps, frames)
    views = []
    for mark in marks:
        _train_to(ex.step, ex.steps_done, mark)
        views.append(ex.view())
    last = marks[-1]
    window = max(1, last // 40)
    fig = plt.figure(figsize=tuple(figsize), dpi=dpi)

    def draw(i: int):
        draw_view(views[i], fig, resolution=resolution, max_step=last, smooth=window, tight=False)
        return []

    anim = FuncAnimation(fig, draw, frames=len(views), interval=interval, blit=False, repeat=True)
    plt.close(fig)
    anim.views = views
    anim.explorer = ex
    return anim


def animation_html(anim: FuncAnimation, alt: str):
    """The animation as an HTML player (matplotlib's ``to_jshtml``), its frame image carrying ``alt``.

    Readers who cannot see the frames get ``alt``, one sentence on what the animation shows; the
    player's buttons and slider work as usual. Returns an ``IPython.display.HTML`` object to show as
    the last line of a cell.

    Explained in the chapter "GAN training".
    """
    import html as _html

    from IPython.display import HTML

    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("alt must be a non-empty sentence describing the animation")
    page = anim.to_jshtml()
    if "<img id=" not in page:
        raise ValueError("the animation's HTML has no frame image to describe (matplotlib changed its player?)")
    page = page.replace("<img id=", f'<img alt="{_html.escape(alt.strip())}" id=', 1)
    return HTML(page)
