"""Figures the chapters share: image grids, training curves, and 2-D samples over D's heatmap.

Colours come from the Okabe-Ito palette, which stays distinguishable with colour-vision deficiencies.
Every function draws on a matplotlib axis (a new one when ``ax`` is None) and returns it, so figures
can be composed.

Explained in the chapters "Welcome" (grids and curves), "GAN training" (the 2-D heatmap), "Loss
functions" (loss-gradient curves, 1-D densities), "Common problems" (mode histograms over time,
parameter paths of the Dirac GAN) and "Variations II: translation, super-resolution and inpainting"
(stacked image strips).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from torch import nn

from gancourse.data import from_unit_range
from gancourse.models import check_shape, eval_mode

__all__ = ["OKABE_ITO", "REAL_COLOR", "FAKE_COLOR", "make_grid", "image_grid", "moving_average", "plot_history",
           "plot_snapshots", "discriminator_heatmap", "scatter_2d", "plot_loss_gradients", "plot_1d_densities",
           "plot_mode_occupancy", "plot_2d_snapshots", "plot_parameter_paths", "plot_rows"]

#: The Okabe-Ito colour-blind-safe palette.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
#: The colour of real data in every figure of the book (Okabe-Ito blue).
REAL_COLOR = "#0072B2"
#: The colour of generated data in every figure of the book (Okabe-Ito vermilion).
FAKE_COLOR = "#D55E00"


def make_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> torch.Tensor:
    """Tile images ``(N, C, H, W)`` in [-1, 1] into one ``(H', W', C)`` array in [0, 1] for display.

    Images fill rows of ``nrow``; ``padding`` pixels of ``pad_value`` separate them.

    Explained in the chapter "Welcome".
    """
    check_shape(images, ("N", "C", "H", "W"), "make_grid", "images")
    if nrow < 1:
        raise ValueError(f"nrow must be >= 1, got {nrow}")
    images = from_unit_range(images.detach().float().cpu())
    n, c, h, w = images.shape
    ncol = min(nrow, n)
    nrows = math.ceil(n / ncol)
    canvas = torch.full((c, nrows * (h + padding) + padding, ncol * (w + padding) + padding), pad_value)
    for i in range(n):
        r, q = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        canvas[:, top:top + h, left:left + w] = images[i]
    return canvas.permute(1, 2, 0)  # (H', W', C)


def image_grid(images: torch.Tensor, nrow: int = 8, ax: plt.Axes | None = None, title: str | None = None,
               padding: int = 2) -> plt.Axes:
    """Show images ``(N, C, H, W)`` in [-1, 1] as a grid on ``ax`` (grey scale for one channel).

    Explained in the chapter "Welcome".
    """
    grid = make_grid(images, nrow=nrow, padding=padding)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.6 * min(nrow, len(images)) + 0.5, 0.6 * math.ceil(len(images) / nrow) + 0.5))
    if grid.shape[2] == 1:
        ax.imshow(grid[..., 0].numpy(), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(grid.numpy(), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def moving_average(values: Sequence[float], window: int) -> torch.Tensor:
    """Trailing moving average of ``values`` over ``window`` entries, as a float64 tensor of the same length.

    Entry t is the mean of ``values[t - window + 1 : t + 1]``; before the first full window the
    first value stands in for the missing ones, so the curve starts where the raw one does. A window
    of 1 or one longer than the values returns them unchanged.

    Explained in the chapter "GAN training" (smoothed training curves).
    """
    v = torch.as_tensor(values, dtype=torch.float64)
    if window <= 1 or len(v) < window:
        return v
    kernel = torch.ones(1, 1, window, dtype=torch.float64) / window
    padded = torch.cat([v[:1].repeat(window - 1), v])  # trailing mean; the start repeats the first value
    return torch.nn.functional.conv1d(padded[None, None], kernel)[0, 0]


def plot_history(history: Mapping[str, Sequence[float]], axes: Sequence[plt.Axes] | None = None,
                 smooth: int = 1) -> Sequence[plt.Axes]:
    """Two panels from a trainer's history: both losses, and D's accuracy on real data, on fake data and overall.

    The accuracy panel marks 50%, where D can no longer tell real from fake. ``smooth`` is the width
    of a trailing moving average (1 = raw, see :func:`moving_average`). Given one axis in ``axes``, it
    draws the losses only.

    Explained in the chapter "GAN training".
    """
    missing = {"step", "d_loss", "g_loss", "d_acc_real", "d_acc_fake", "d_acc"} - set(history)
    if missing:
        raise ValueError(f"history lacks {sorted(missing)}; pass GANTrainer.history")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    steps = history["step"]
    ax = axes[0]
    ax.plot(steps, moving_average(history["d_loss"], smooth), color=REAL_COLOR, label="discriminator loss")
    ax.plot(steps, moving_average(history["g_loss"], smooth), color=FAKE_COLOR, label="generator loss")
    ax.set(xlabel="training step", ylabel="loss", title="Losses")
    ax.legend()
    if len(axes) == 1:
        return axes
    ax = axes[1]
    ax.plot(steps, moving_average(history["d_acc_real"], smooth), color=REAL_COLOR, alpha=0.6, label="on real")
    ax.plot(steps, moving_average(history["d_acc_fake"], smooth), color=FAKE_COLOR, alpha=0.6, label="on fake")
    ax.plot(steps, moving_average(history["d_acc"], smooth), color="black", label="overall")
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance (50%)")
    ax.set(xlabel="training step", ylabel="accuracy", title="Discriminator accuracy", ylim=(-0.02, 1.02))
    ax.legend(loc="lower left", fontsize="small")
    return axes


def plot_snapshots(snapshots: Mapping[int, torch.Tensor], steps: Sequence[int] | None = None, nrow: int = 8,
                   n: int = 32) -> plt.Figure:
    """Image grids of the generator's fixed-noise samples at several steps, side by side.

    Explained in the chapter "GAN structure" (the stages of training).
    """
    steps = sorted(snapshots) if steps is None else list(steps)
    if not steps:
        raise ValueError("no snapshots to plot: train with snapshot_every set")
    fig, axes = plt.subplots(1, len(steps), figsize=(3.2 * len(steps), 3.0), squeeze=False)
    for ax, step in zip(axes[0], steps):
        image_grid(snapshots[step][:n], nrow=nrow, ax=ax, title=f"step {step}")
    return fig


@torch.no_grad()
def discriminator_heatmap(discriminator: nn.Module, bounds: Sequence[float], resolution: int = 100,
                          probability: bool = True) -> torch.Tensor:
    """D's output on a ``resolution x resolution`` grid over ``bounds = (xmin, xmax, ymin, ymax)``.

    Returns a ``(resolution, resolution)`` tensor (rows = y), ``sigmoid(logit)`` when ``probability``.

    Explained in the chapter "The discriminator".
    """
    xmin, xmax, ymin, ymax = bounds
    dev = next(discriminator.parameters()).device
    xs, ys = torch.linspace(xmin, xmax, resolution, device=dev), torch.linspace(ymin, ymax, resolution, device=dev)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    with eval_mode(discriminator):
        out = discriminator(torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1))
    out = torch.sigmoid(out) if probability else out
    return out.reshape(resolution, resolution).cpu()


def scatter_2d(real: torch.Tensor, fake: torch.Tensor, discriminator: nn.Module | None = None,
               ax: plt.Axes | None = None, bounds: Sequence[float] | None = None, resolution: int = 100,
               probability: bool = True, arrows: bool = False, title: str | None = None) -> plt.Axes:
    """Real (blue) and generated (vermilion) 2-D points, optionally over D's output as a heatmap.

    With ``arrows``, each generated point gets an arrow along ``grad_x D(x)``: the direction in which
    the generator's update pushes it (for the non-saturating loss, ``-grad log D(x)`` points the same
    way), as in GAN Lab.

    Explained in the chapter "GAN training".
    """
    real, fake = real.detach().float().cpu(), fake.detach().float().cpu()
    for name, t in (("real", real), ("fake", fake)):
        if t.dim() != 2 or t.shape[1] != 2:
            raise ValueError(f"{name} must have shape (N, 2), got {tuple(t.shape)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    if bounds is None:
        both = torch.cat([real, fake])
        lo, hi = both.min(0).values, both.max(0).values
        margin = 0.15 * (hi - lo).max().clamp(min=0.5)
        bounds = (float(lo[0] - margin), float(hi[0] + margin), float(lo[1] - margin), float(hi[1] + margin))
    if discriminator is not None:
        heat = discriminator_heatmap(discriminator, bounds, resolution, probability)
        im = ax.imshow(heat.numpy(), origin="lower", extent=tuple(bounds), cmap="cividis", aspect="auto",
                       vmin=0 if probability else None, vmax=1 if probability else None, alpha=0.85)
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="D(x)" if probability else "critic score")
    ax.scatter(real[:, 0], real[:, 1], s=6, color=REAL_COLOR, label="real", alpha=0.7)
    ax.scatter(fake[:, 0], fake[:, 1], s=6, color=FAKE_COLOR, label="generated", alpha=0.7, marker="x")
    if arrows and discriminator is not None:
        dev = next(discriminator.parameters()).device
        x = fake.to(dev).clone().requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(discriminator(x).sum(), x)
        grad = grad.cpu()
        grad = grad / grad.norm(dim=1, keepdim=True).clamp(min=1e-12)
        ax.quiver(fake[:, 0], fake[:, 1], grad[:, 0], grad[:, 1], color="#000000", angles="xy", width=0.003,
                  scale=25, alpha=0.8)
    ax.set(xlim=bounds[:2], ylim=bounds[2:], xlabel="$x_1$", ylabel="$x_2$")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    return ax


# -- Loss functions: loss-gradient curves and 1-D densities ------------------------------------------------------


def plot_loss_gradients(x: torch.Tensor, gradients: Mapping[str, torch.Tensor], ax: plt.Axes | None = None,
                        xlabel: str = "$D(G(z))$", ylabel: str = "size of the gradient $|\\partial L_G / \\partial o|$",
                        title: str | None = None, log: bool = False) -> plt.Axes:
    """Curves of the gradient size ``|dL_G/do|`` that each generator loss gives, against ``x``.

    ``x`` is what varies along the horizontal axis (for example ``D(G(z))`` from 0 to 1, or D's raw
    output); ``gradients`` maps each loss's name to its derivatives at those points (see
    :func:`gancourse.losses.generator_loss_gradients`). Each curve gets its own Okabe-Ito colour and line style, so the
    curves stay apart in grey scale too. ``log`` puts the vertical axis on a log scale.

    Explained in the chapter "Loss functions".
    """
    x = torch.as_tensor(x).detach().float().cpu().reshape(-1)
    if not gradients:
        raise ValueError("gradients is empty: pass at least one name -> tensor of derivatives")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    styles = ("-", "--", "-.", ":")
    colors = (REAL_COLOR, FAKE_COLOR, OKABE_ITO[2], OKABE_ITO[6], OKABE_ITO[0], OKABE_ITO[7])
    for i, (name, grad) in enumerate(gradients.items()):
        grad = torch.as_tensor(grad).detach().float().cpu().reshape(-1)
        if grad.shape != x.shape:
            raise ValueError(f"gradients[{name!r}] has {grad.numel()} values but x has {x.numel()}")
        ax.plot(x, grad.abs(), color=colors[i % len(colors)], linestyle=styles[i % len(styles)], linewidth=2,
                label=name)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def plot_1d_densities(x: torch.Tensor, real_density: torch.Tensor, fake_density: torch.Tensor | None = None,
                      curves: Mapping[str, torch.Tensor] | None = None, ax: plt.Axes | None = None,
                      curve_label: str = "discriminator output", title: str | None = None,
                      xlabel: str = "$x$") -> tuple[plt.Axes, plt.Axes | None]:
    """Real (blue) and generated (vermilion) 1-D densities as filled areas, with optional curves over them.

    ``x`` is a ``(N,)`` grid; ``real_density`` and ``fake_density`` are the densities on it (e.g.
    ``GaussianMixture.pdf``). ``curves`` maps a name to values on the same grid (D's output, a critic's
    score, ...); they are drawn on a second vertical axis on the right, labelled ``curve_label``,
    because a critic's scores are not on the densities' scale.

    Returns ``(density_axis, curve_axis)``; the curve axis is None when there are no curves.

    Explained in the chapter "Loss functions" (the optimal discriminator and the critic).
    """
    x = torch.as_tensor(x).detach().float().cpu().reshape(-1)

    def check(values, name):
        values = torch.as_tensor(values).detach().float().cpu().reshape(-1)
        if values.shape != x.shape:
            raise ValueError(f"{name} must have one value per point of x ({x.numel()}), got {values.numel()}")
        return values

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.fill_between(x, check(real_density, "real_density"), color=REAL_COLOR, alpha=0.35, label="real data density")
    if fake_density is not None:
        ax.fill_between(x, check(fake_density, "fake_density"), color=FAKE_COLOR, alpha=0.35,
                        label="generated data density")
    ax.set(xlabel=xlabel, ylabel="density", xlim=(float(x[0]), float(x[-1])))
    ax.set_ylim(bottom=0)
    if title:
        ax.set_title(title)
    curve_ax = None
    handles, labels = ax.get_legend_handles_labels()
    if curves:
        curve_ax = ax.twinx()
        styles = ("-", "--", "-.", ":")
        colors = ("#000000", OKABE_ITO[2], OKABE_ITO[6], OKABE_ITO[0])
        for i, (name, values) in enumerate(curves.items()):
            curve_ax.plot(x, check(values, f"curves[{name!r}]"), color=colors[i % len(colors)],
                          linestyle=styles[i % len(styles)], linewidth=2, label=name)
        curve_ax.set_ylabel(curve_label)
        more_handles, more_labels = curve_ax.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    (curve_ax or ax).legend(handles, labels, fontsize="small", loc="upper left")
    return ax, curve_ax


# -- Common problems: mode histograms over time, 2-D samples over time, parameter paths -----------------------


def plot_mode_occupancy(steps: Sequence[int], shares: torch.Tensor, ax: plt.Axes | None = None,
                        title: str | None = None, vmax: float = 0.5) -> plt.Axes:
    """A mode histogram over time: one column per snapshot, one row per mode, brighter = larger share.

    ``steps`` and ``shares`` are what :func:`gancourse.remedies.mode_occupancy` returns (``shares`` has
    shape ``(K, len(steps))``). Each column is centred on its step and as wide as the spacing between
    snapshots. The colour scale (cividis, readable with colour-vision deficiencies) runs from 0 to
    ``vmax``, the same for every panel, so panels can be compared; ``ax.images[0]`` is the mappable for
    a colour bar. A generator that covers the data evenly draws a uniform band; a collapsed one a few
    bright cells per column.

    Explained in the chapter "Common problems".
    """
    steps = [int(s) for s in steps]
    shares = torch.as_tensor(shares).detach().cpu().double()
    if shares.dim() != 2 or shares.shape[1] != len(steps) or not steps:
        raise ValueError(f"shares must have shape (K, len(steps)) = (K, {len(steps)}) with at least one step, "
                         f"got {tuple(shares.shape)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    width = steps[1] - steps[0] if len(steps) > 1 else 1
    k = shares.shape[0]
    ax.imshow(shares.numpy(), aspect="auto", cmap="cividis", vmin=0, vmax=vmax, interpolation="nearest",
              extent=(steps[0] - width / 2, steps[-1] + width / 2, k - 0.5, -0.5))
    ax.set(xlabel="training step", ylabel="mode")
    if title:
        ax.set_title(title)
    return ax


def plot_2d_snapshots(snapshots: Mapping[int, torch.Tensor], real: torch.Tensor, steps: Sequence[int],
                      lim: float = 1.6) -> plt.Figure:
    """One panel per step: the generator's 2-D samples (vermilion crosses) over real data (blue dots).

    ``snapshots`` is a trainer's :attr:`~gancourse.train.GANTrainer.snapshots` (generated points on a
    fixed noise batch, by step), ``real`` a ``(N, 2)`` set of real points drawn in every panel, and
    ``steps`` the snapshots to show. All panels share the square window ``[-lim, lim]^2``.

    Explained in the chapter "Common problems".
    """
    steps = list(steps)
    missing = [s for s in steps if s not in snapshots]
    if not steps or missing:
        raise ValueError(f"steps must name stored snapshots; missing {missing}" if missing else "steps is empty")
    real = real.detach().float().cpu()
    if real.dim() != 2 or real.shape[1] != 2:
        raise ValueError(f"real must have shape (N, 2), got {tuple(real.shape)}")
    fig, axes = plt.subplots(1, len(steps), figsize=(2.5 * len(steps), 2.9), sharex=True, sharey=True, squeeze=False)
    for ax, step in zip(axes[0], steps):
        fake = snapshots[step].detach().float().cpu()
        ax.scatter(real[:, 0], real[:, 1], s=4, color=REAL_COLOR, label="real")
        ax.scatter(fake[:, 0], fake[:, 1], s=8, marker="x", color=FAKE_COLOR, alpha=0.5, label="generated")
        ax.set(title=f"step {step}", xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="$x_1$")
    axes[0, 0].set_ylabel("$x_2$")
    axes[0, 0].legend(fontsize="x-small", loc="lower left")
    fig.tight_layout()
    return fig


def plot_parameter_paths(paths: Mapping[str, Sequence[Sequence[float]]], emphasise: str | None = None,
                         labels: Sequence[str] = (r"generator's $\theta$", r"discriminator's $\psi$")) -> plt.Figure:
    """Two panels for a two-parameter game such as the Dirac GAN: paths, and distance to the equilibrium.

    ``paths`` maps a name to an array ``(T, 2)`` of ``(theta, psi)`` after each step, starting with
    the initial point. The left panel draws every path in parameter space, with the start of the first
    path as a black square and the equilibrium ``(0, 0)`` as a black cross; the right panel draws the
    distance ``sqrt(theta^2 + psi^2)`` to the equilibrium on a log scale. The path named ``emphasise``
    is drawn dotted and thick, so that it stays visible where it lies on top of another.

    Explained in the chapter "Common problems" (failure to converge).
    """
    if not paths:
        raise ValueError("paths is empty: pass at least one name -> (T, 2) array")
    arrays = {}
    for name, path in paths.items():
        a = torch.as_tensor(path, dtype=torch.float64)
        if a.dim() != 2 or a.shape[1] != 2 or a.shape[0] < 1:
            raise ValueError(f"paths[{name!r}] must have shape (T, 2), got {tuple(a.shape)}")
        arrays[name] = a
    fig, (ax_p, ax_r) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = (OKABE_ITO[5], OKABE_ITO[0], OKABE_ITO[4], OKABE_ITO[2], OKABE_ITO[6], OKABE_ITO[1])
    for i, (name, a) in enumerate(arrays.items()):
        style = dict(linestyle=":", linewidth=2.5) if name == emphasise else dict(linewidth=1.2)
        color = colors[i % len(colors)]
        ax_p.plot(a[:, 0], a[:, 1], color=color, label=name, **style)
        ax_r.plot(a.norm(dim=1), color=color, label=name, **style)
    start = next(iter(arrays.values()))[0]
    ax_p.plot([float(start[0])], [float(start[1])], "s", color="black")
    ax_p.plot([0], [0], "x", color="black", markersize=10)
    ax_p.set(xlabel=labels[0], ylabel=labels[1], title="Paths in parameter space", aspect="equal")
    ax_p.legend(fontsize="small", loc="lower left")
    ax_r.set(yscale="log", xlabel="training step", ylabel="distance to the equilibrium",
             title="Distance to the equilibrium")
    fig.tight_layout()
    return fig


# -- Variations II: image strips stacked with a name per row ------------------------------------------------------


def plot_rows(rows: Mapping[str, torch.Tensor], title: str | None = None, xlabel: str | None = None,
              axes_width: float = 0.62) -> plt.Figure:
    """Stack image strips, one per entry of ``rows`` (name -> images ``(n, C, H, W)`` in [-1, 1]).

    Each strip is drawn with :func:`make_grid` in one row; its name labels the row on the left
    (input, baseline, GAN, truth). Images of any size are shown at the same width (a 7x7 input beside
    28x28 outputs), with nearest-neighbour pixels so that nothing is smoothed for display.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    if not rows:
        raise ValueError("rows must hold at least one name -> images entry")
    n = max(len(images) for images in rows.values())
    fig, axes = plt.subplots(len(rows), 1, figsize=(axes_width * n + 1.6, 0.75 * len(rows) + 0.6), squeeze=False)
    for ax, (name, images) in zip(axes[:, 0], rows.items()):
        grid = make_grid(images, nrow=n, padding=max(1, images.shape[-1] // 14), pad_value=1.0)
        ax.imshow(grid[..., 0].numpy(), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest", aspect="auto")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
    if xlabel:
        axes[-1, 0].set_xlabel(xlabel)
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    return fig
