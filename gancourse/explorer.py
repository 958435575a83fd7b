"""A GAN-Lab-style explorer: train a small GAN on 2-D points and watch it learn, one step at a time.

GAN Lab (Kahng et al., "GAN Lab: Understanding complex deep generative models using interactive
visual experimentation", IEEE VIS 2018) showed that a GAN on points in the plane can be watched
while it trains: the real points, the generated points, the discriminator's opinion of every place
in the plane, and the direction in which each generated point is being pushed. This module rebuilds
that picture on :class:`gancourse.train.GANTrainer`, in two layers:

- :class:`Explorer` holds the state (settings, trainer, the points on display) and does the work:
  :meth:`Explorer.step`, :meth:`Explorer.update`, :meth:`Explorer.reset`, :meth:`Explorer.view`.
  It needs no display and is what the tests and :func:`gancourse.animation.explorer_animation`
  drive.
- :class:`ExplorerWidget` is a thin ipywidgets layer over it: drop-downs, sliders and buttons that
  call those methods, and an HTML picture that is redrawn after each action. It uses only widget
  classes, options and methods that exist in ipywidgets 7.7 (the version Google Colab ships) and in
  ipywidgets 8 (see ``IPYWIDGETS7_API`` in ``tests/test_colab.py``).

What a change does:

- the data set, the loss, the noise distribution and the noise size change the *problem*: the
  explorer starts again from step 0 with fresh networks;
- k (discriminator steps per generator step) and the two learning rates change *how training
  proceeds*: they take effect at the next step, on the networks as they are, so you can, say, raise
  k in the middle of a run and see what it does.

One training step is always the course's alternating scheme: k discriminator updates with the
generator held fixed, then one generator update with the discriminator held fixed.

Explained in the chapter "GAN training".
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import warnings
from dataclasses import dataclass, fields, replace
from typing import Any

import matplotlib.pyplot as plt
import torch
from torch import nn

from gancourse import plot
from gancourse.data import TOY_2D_NAMES, GaussianMixture, toy_2d
from gancourse.losses import LOSSES
from gancourse.metrics import ModeMetrics, mode_metrics
from gancourse.noise import sample_noise
from gancourse.quiz.widget import widgets_module
from gancourse.recipes import mlp_gan
from gancourse.train_config import TrainConfig

__all__ = ["ExplorerSettings", "ExplorerView", "Explorer", "ExplorerWidget", "draw_view", "explorer"]

#: Settings that change how training proceeds: they apply to the networks as they are. Every other
#: change (the data, the loss, the noise, the networks, the seed, ...) starts again from step 0.
LIVE_SETTINGS = ("d_steps", "lr_d", "lr_g")

#: The Wasserstein loss needs its critic kept Lipschitz; the explorer uses the gradient penalty of
#: WGAN-GP (Gulrajani et al., 2017) with this weight, which trains steadily on these small problems.
WASSERSTEIN_GP_WEIGHT = 1.0

#: The explorer's training options before any change: Adam at 1e-3 for both players, batches of 128,
#: 2 noise numbers, statistics copied to the host every 10 steps.
EXPLORER_CONFIG = TrainConfig(latent_dim=2, batch_size=128, lr_g=1e-3, lr_d=1e-3, log_every=10)

# How much of the plane to show around the real points (as a share of their extent on each side).
_MARGIN = 0.35


@dataclass(frozen=True)
class ExplorerSettings:
    """Everything the explorer lets you choose: its own settings and a :class:`~gancourse.train_config.TrainConfig`.

    Attributes:
        distribution: the real data, a name from :data:`gancourse.data.TOY_2D_NAMES`.
        hidden: widths of the hidden layers of both networks.
        n_points: how many real and generated points the picture shows (and metrics use).
        config: the training options: ``loss`` (a name from :data:`gancourse.losses.LOSSES`), ``d_steps``
            (k, discriminator updates per generator update), ``lr_d`` and ``lr_g`` (Adam learning
            rates), ``noise`` (``"normal"`` or ``"uniform"``), ``latent_dim`` (size of z),
            ``batch_size`` (real and fake points per update) and ``seed`` (the networks' initial weights
            and the trainer's random numbers) are the ones the explorer's controls change.

    :meth:`changed` takes all of them by name, explorer settings and config fields alike, as
    :class:`Explorer` does: ``settings.changed(distribution="grid", d_steps=5)``.

    Explained in the chapter "GAN training".
    """

    distribution: str = "ring"
    hidden: tuple[int, ...] = (64, 64)
    n_points: int = 300
    config: TrainConfig = EXPLORER_CONFIG

    def __post_init__(self) -> None:
        if self.distribution not in TOY_2D_NAMES:
            raise ValueError(f"distribution must be one of {', '.join(TOY_2D_NAMES)}; got {self.distribution!r}")
        if not isinstance(self.n_points, int) or isinstance(self.n_points, bool) or self.n_points < 1:
            raise ValueError(f"n_points must be a positive int, got {self.n_points!r}")
        hidden = tuple(self.hidden)
        if not hidden or not all(isinstance(h, int) and h >= 1 for h in hidden):
            raise ValueError(f"hidden must be a non-empty sequence of positive ints, got {self.hidden!r}")
        object.__setattr__(self, "hidden", hidden)
        if not isinstance(self.config, TrainConfig):
            raise ValueError(f"config must be a TrainConfig, got {self.config!r}")

    def get(self, name: str) -> Any:
        """The value of a setting by name, an explorer setting or a config field."""
        return getattr(self, name) if name in _OWN else getattr(self.config, name)

    def changed(self, **changes: Any) -> "ExplorerSettings":
        """New settings with ``changes`` (explorer settings or :class:`~gancourse.train_config.TrainConfig` fields).

        A new ``loss`` brings its gradient penalty: :data:`WASSERSTEIN_GP_WEIGHT` for ``"wasserstein"``,
        none for the others (unless ``gp_weight`` is given too).
        """
        _check_names(changes)
        to_config = {k: v for k, v in changes.items() if k not in _OWN}
        if "loss" in to_config and "gp_weight" not in to_config:
            to_config["gp_weight"] = WASSERSTEIN_GP_WEIGHT if to_config["loss"] == "wasserstein" else 0.0
        own = {k: v for k, v in changes.items() if k in _OWN}
        config = own.pop("config", self.config)
        return replace(self, **own, config=replace(config, **to_config) if to_config else config)

    def train_config(self) -> TrainConfig:
        """The trainer's config: :attr:`config` with one fixed noise vector per point on display."""
        return replace(self.config, n_fixed=self.n_points)


_OWN = {f.name for f in fields(ExplorerSettings)}


@dataclass
class ExplorerView:
    """A frozen picture of the explorer at one step, enough to draw it later.

    Attributes:
        step: training steps done.
        real, fake: ``(n_points, 2)`` real and generated points (the same noise every time).
        discriminator: a copy of D at this step, in eval mode, on the CPU.
        history: the trainer's history up to this step (copied lists).
        bounds: ``(xmin, xmax, ymin, ymax)`` of the picture.
        probability: whether D's outputs are probabilities (classifier losses) or raw scores.
        settings: the settings in force.
        metrics: mode metrics of the generated points (ring and grid only), else None.

    Explained in the chapter "GAN training".
    """

    step: int
    real: torch.Tensor
    fake: torch.Tensor
    discriminator: nn.Module
    history: dict[str, list[float]]
    bounds: tuple[float, float, float, float]
    probability: bool
    settings: ExplorerSettings
    metrics: ModeMetrics | None


class Explorer:
    """The explorer's state and logic, with no display: settings, a trainer and the points on show.

    Create it with keyword settings (see :class:`ExplorerSettings`)::

        ex = Explorer(distribution="ring", loss="nonsaturating", d_steps=1)
        ex.step(200)                 # 200 training steps
        ex.update(d_steps=5)         # k = 5 from the next step on, same networks
        ex.update(distribution="grid")  # a new problem: back to step 0
        view = ex.view()             # what to draw

    ``device`` defaults to the CPU: networks of a few thousand weights gain nothing from a GPU, whose
    per-call overhead is larger than their work. Changing ``seed`` (or resetting) reseeds PyTorch's
    global generator, which draws the initial weights.

    Explained in the chapter "GAN training".
    """

    def __init__(self, settings: ExplorerSettings | None = None, *, device=None, **changes: Any):
        base = settings if settings is not None else ExplorerSettings()
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.settings = base.changed(**changes) if changes else base
        self.reset()

    # -- state --------------------------------------------------------------------------------
    def reset(self, **changes: Any) -> None:
        """Start again from step 0 with fresh networks, after applying ``changes`` to the settings."""
        if changes:
            self.settings = self.settings.changed(**changes)
        s, cfg = self.settings, self.settings.train_config()
        self.data = toy_2d(s.distribution)
        self.trainer = mlp_gan(self.data, cfg, g_hidden=s.hidden, d_hidden=s.hidden, device=self.device)
        # The points on display: fixed real points and fixed noise, so frames are comparable.
        shown = torch.Generator(device=self.device).manual_seed(10_000 + cfg.seed)
        self.real_points = self.data(s.n_points, shown).cpu()
        self.noise_points = sample_noise(s.n_points, cfg.latent_dim, cfg.noise, shown)
        self.bounds = _bounds(self.real_points)
        self.error: str | None = None

    def update(self, **changes: Any) -> bool:
        """Change settings. Returns True when the change restarted training from step 0.

        k and the learning rates apply from the next step on; any other change resets.
        """
        _check_names(changes)
        changes = {k: v for k, v in changes.items() if self.settings.get(k) != v}
        if not changes:
            return False
        if set(changes) - set(LIVE_SETTINGS):
            self.reset(**changes)
            return True
        self.settings = self.settings.changed(**changes)  # validates the new values
        self.trainer.config = self.settings.train_config()
        self.trainer.set_lr_scale(1.0)  # the new rates, keeping the optimisers' state
        return False

    @property
    def steps_done(self) -> int:
        """Training steps done since the last reset."""
        return self.trainer.step

    def step(self, n: int = 1) -> None:
        """Run ``n`` training steps (each: k D updates, then one G update).

        A run that diverges raises ``FloatingPointError`` (from the trainer) and keeps the message in
        :attr:`error`.
        """
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive int (training steps), got {n!r}")
        try:
            self.trainer.train(n, progress=False)
        except FloatingPointError as err:
            self.error = str(err)
            raise

    # -- what to show -------------------------------------------------------------------------
    def fake_points(self) -> torch.Tensor:
        """The generator's output for the fixed display noise, ``(n_points, 2)``, in eval mode."""
        return self.trainer.sample(noise=self.noise_points).cpu()

    def metrics(self, fake: torch.Tensor | None = None) -> ModeMetrics | None:
        """Modes captured, high-quality share and reverse KL (ring and grid only; None otherwise)."""
        if not isinstance(self.data, GaussianMixture):
            return None
        return mode_metrics(self.fake_points() if fake is None else fake, self.data)

    def view(self) -> ExplorerView:
        """A snapshot of the current state (with a copy of D) that :func:`draw_view` can draw."""
        self.trainer.flush()
        fake = self.fake_points()
        d_copy = copy.deepcopy(self.trainer.discriminator).cpu().eval()
        return ExplorerView(
            step=self.trainer.step, real=self.real_points, fake=fake, discriminator=d_copy,
            history={k: list(v) for k, v in self.trainer.history.items()}, bounds=self.bounds,
            probability=self.trainer.loss.outputs_probability, settings=self.settings,
            metrics=self.metrics(fake),
        )

    def status(self) -> str:
        """One line about the current state: step, D's accuracy lately, mode metrics where defined."""
        k, h = self.settings.config.d_steps, self.trainer.history
        parts = [f"step {self.trainer.step} (each step: {k} D update{'s' if k > 1 else ''}, then 1 G update)"]
        if h["step"]:
            last = min(50, len(h["step"]))
            acc = sum(h["d_acc"][-last:]) / last
            parts.append(f"D accuracy over the last {last} steps: {acc:.0%}")
        m = self.metrics()
        if m is not None:
            parts.append(f"modes captured {m.modes_captured}/{m.n_modes}, high quality {m.high_quality:.0%}")
        return "; ".join(parts)

    def png(self, *, figsize=(11, 3.4), dpi: int = 80, resolution: int = 60) -> bytes:
        """The current picture (points over D's heatmap with arrows, losses, accuracy) as PNG bytes."""
        fig = plt.figure(figsize=figsize, dpi=dpi)
        try:
            draw_view(self.view(), fig, resolution=resolution, tight=False)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi)
        finally:
            plt.close(fig)
        return buffer.getvalue()


def _check_names(changes: dict) -> None:
    known = _OWN | {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValueError(f"unknown explorer setting(s) {unknown}; expected some of {sorted(known)}")


def _bounds(points: torch.Tensor) -> tuple[float, float, float, float]:
    lo, hi = points.min(0).values, points.max(0).values
    centre, half = (lo + hi) / 2, ((hi - lo) / 2).max().clamp(min=0.5) * (1 + 2 * _MARGIN)
    return (float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half))


def draw_view(view: ExplorerView, fig: plt.Figure, *, resolution: int = 60, max_step: int | None = None,
              smooth: int | None = None, tight: bool = True) -> list[plt.Axes]:
    """Draw an :class:`ExplorerView` on ``fig`` (cleared first) as three panels.

    Left: real (blue) and generated (vermilion) points over D's output, with an arrow on each
    generated point along ``grad_x D(x)``, the way the generator's next update pushes it
    (:func:`gancourse.plot.scatter_2d`). Middle: both losses so far. Right: D's accuracy so far,
    with the 50% line. ``max_step`` fixes the right end of the curves' axis (for animations);
    ``tight=False`` uses a fixed layout instead of ``tight_layout`` (faster, and steady from frame to
    frame).

    Explained in the chapter "GAN training".
    """
    fig.clear()
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.5, 1, 1]})
    s = view.settings
    title = f"step {view.step}: {s.distribution}, {s.config.loss}, k={s.config.d_steps}"
    if view.metrics is not None:
        m = view.metrics
        title += f"\nmodes {m.modes_captured}/{m.n_modes}, high quality {m.high_quality:.0%}"
    with _colorbar_on_own_figure():
        plot.scatter_2d(view.real, view.fake, view.discriminator, ax=axes[0], bounds=view.bounds,
                        resolution=resolution, probability=view.probability, arrows=True, title=title)
    for image in axes[0].images:  # D's heatmap: crisp cells are as readable and make a much smaller PNG
        image.set_interpolation("nearest")
    n = len(view.history["step"])
    window = smooth if smooth is not None else max(1, n // 40)
    plot.plot_history(_thinned(view.history, window), axes=axes[1:], smooth=1)
    right = max_step if max_step is not None else max(1, view.step)
    for ax in axes[1:]:
        ax.set_xlim(0, right)
        ax.title.set_fontsize("medium")
    axes[0].title.set_fontsize("medium")
    if tight:
        fig.tight_layout()
    else:
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.15, top=0.83, wspace=0.6)
    return list(axes)


@contextlib.contextmanager
def _colorbar_on_own_figure():
    """Let :func:`gancourse.plot.scatter_2d` draw on a figure that pyplot does not manage.

    ``scatter_2d`` adds its colour bar through ``plt.colorbar(im, ax=ax)``, which puts the bar next to
    ``ax`` (on the right figure) but first asks pyplot for its current figure: for a figure that is
    not pyplot's current one (an animation's, closed so that it is not shown twice) that creates an
    empty figure and warns. Here both are undone.
    """
    before = set(plt.get_fignums())
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Adding colorbar to a different Figure")
            yield
    finally:
        for number in set(plt.get_fignums()) - before:
            plt.close(number)


def _thinned(history: dict[str, list[float]], window: int, max_points: int = 200) -> dict[str, list[float]]:
    """The history smoothed by a trailing mean of ``window`` steps, then cut to at most ``max_points`` rows.

    Curves of thousands of jittery points make large pictures and show nothing more than this.
    """
    n = len(history["step"])
    keep = torch.linspace(0, n - 1, min(n, max_points)).round().long().unique().tolist() if n else []
    out = {}
    for key, values in history.items():
        smoothed = values if key == "step" else plot.moving_average(values, window).tolist()
        out[key] = [smoothed[i] for i in keep]
    return out


def _png_html(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{alt}" style="max-width:100%"/>'


class ExplorerWidget:
    """Controls and a picture over an :class:`Explorer`, for a live Jupyter or Colab kernel.

    Controls: the data set, the loss, k, both learning rates, the noise and its size, the length of a
    run; buttons *Step* (one training step), *Run N steps* and *Reset*. The picture (an HTML image,
    so nothing depends on a plotting back end) is redrawn after every action, and a status line gives
    the step, D's recent accuracy and, for the ring and the grid, the modes captured.

    ``run_steps`` is the initial length of a run, ``redraw_every`` how many steps of a run pass
    between pictures, and ``dpi`` the picture's resolution.

    Display it by making it the last expression of a cell. Without a kernel behind the page (a
    static web page) the controls do nothing: run the notebook to use it.

    Explained in the chapter "GAN training".
    """

    def __init__(self, explorer: Explorer | None = None, *, run_steps: int = 200, redraw_every: int = 100,
                 dpi: int = 80, **settings: Any):
        if explorer is not None and settings:
            raise ValueError("pass either an Explorer or settings, not both")
        if not isinstance(redraw_every, int) or redraw_every < 1:
            raise ValueError("redraw_every must be a positive int (steps between pictures during a run), "
                             f"got {redraw_every!r}")
        self.explorer = explorer if explorer is not None else Explorer(**settings)
        self.redraw_every = redraw_every
        self.dpi = dpi
        self.redraws = 0
        s = self.explorer.settings.config
        w = widgets_module()
        wide = {"description_width": "initial"}
        self.distribution = w.Dropdown(options=list(TOY_2D_NAMES), value=self.explorer.settings.distribution,
                                       description="real data", style=wide)
        self.loss = w.Dropdown(options=list(LOSSES), value=s.loss, description="loss", style=wide)
        self.d_steps = w.IntSlider(value=s.d_steps, min=1, max=10, step=1, description="k (D steps per G step)",
                                   style=wide)
        self.lr_d = w.FloatLogSlider(value=s.lr_d, base=10, min=-5, max=-1, step=0.25,
                                     description="D learning rate", readout_format=".1e", style=wide)
        self.lr_g = w.FloatLogSlider(value=s.lr_g, base=10, min=-5, max=-1, step=0.25,
                                     description="G learning rate", readout_format=".1e", style=wide)
        self.noise = w.ToggleButtons(options=["normal", "uniform"], value=s.noise, description="noise z", style=wide)
        self.latent_dim = w.IntSlider(value=s.latent_dim, min=1, max=8, step=1, description="noise size",
                                      style=wide)
        self.run_steps = w.IntSlider(value=run_steps, min=10, max=2000, step=10, description="steps per run",
                                     style=wide)
        self.step_button = w.Button(description="Step", tooltip="one training step: k D updates, then one G update")
        self.run_button = w.Button(description=f"Run {run_steps} steps", button_style="primary")
        self.reset_button = w.Button(description="Reset", tooltip="fresh networks, back to step 0")
        self.picture = w.HTML(value="")
        self.status = w.HTML(value="")

        for control, name in ((self.distribution, "distribution"), (self.loss, "loss"), (self.d_steps, "d_steps"),
                              (self.lr_d, "lr_d"), (self.lr_g, "lr_g"), (self.noise, "noise"),
                              (self.latent_dim, "latent_dim")):
            control.observe(self._setter(name), names="value")
        self.run_steps.observe(self._on_run_steps, names="value")
        self.step_button.on_click(lambda _: self._train(1))
        self.run_button.on_click(lambda _: self._train(self.run_steps.value))
        self.reset_button.on_click(self._on_reset)

        self.box = w.VBox(children=[
            w.HBox(children=[self.distribution, self.loss, self.noise]),
            w.HBox(children=[self.d_steps, self.latent_dim]),
            w.HBox(children=[self.lr_d, self.lr_g]),
            w.HBox(children=[self.step_button, self.run_button, self.run_steps, self.reset_button]),
            self.status,
            self.picture,
        ])
        self.redraw()

    # -- callbacks ------------------------------------------------------------------------------
    def _setter(self, name: str):
        def on_change(change) -> None:
            value = change["new"]
            if name in ("lr_d", "lr_g"):
                value = float(value)
            self.explorer.update(**{name: value})
            self.redraw()

        return on_change

    def _on_run_steps(self, change) -> None:
        self.run_button.description = f"Run {change['new']} steps"

    def _on_reset(self, _button) -> None:
        self.explorer.reset()
        self.redraw()

    def _train(self, n: int) -> None:
        done = 0
        while done < n:
            chunk = min(self.redraw_every, n - done)
            try:
                self.explorer.step(chunk)
            except FloatingPointError:
                break
            done += chunk
            self.redraw()
        if self.explorer.error:
            self.redraw()

    def redraw(self) -> None:
        """Draw the current state into the picture and update the status line."""
        ex = self.explorer
        self.picture.value = _png_html(ex.png(dpi=self.dpi), alt=f"real and generated points at step {ex.steps_done}")
        status = ex.status()
        if ex.error:
            status = f"<b>Training stopped:</b> {ex.error}. Press Reset, or lower a learning rate first."
        self.status.value = status
        self.redraws += 1

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)


def explorer(**settings: Any) -> ExplorerWidget:
    """Build the live explorer: ``explorer(distribution="ring", loss="nonsaturating")``.

    Make the result the last expression of a notebook cell to show it; see :class:`ExplorerWidget`.

    Explained in the chapter "GAN training".
    """
    return ExplorerWidget(**settings)

