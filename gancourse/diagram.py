"""A drawing of the whole GAN system: who makes what, who judges it, and where gradients flow.

:func:`gan_diagram` draws the boxes and arrows of a GAN with matplotlib:

- solid arrows carry **data forward**: random noise into the generator, its generated sample and a
  real sample into the discriminator, the discriminator's real-or-fake verdict into the two losses;
- dashed arrows carry **gradients backward** (backpropagation): from the generator loss back through
  the discriminator into the generator, and from the discriminator loss into the discriminator only.

With ``highlight="discriminator_step"`` or ``highlight="generator_step"`` the drawing shows one of
the two updates of training: the network that learns is outlined, the frozen one is hatched and
labelled, and only the gradient path of that update is drawn.

:func:`layer_shapes` and :func:`layer_table` describe a network layer by layer instead: they run an
example batch through it and record, with forward hooks, the shape that every layer outputs (the
DCGAN networks of the Welcome page are shown this way).

Explained in the chapter "GAN structure".
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

from gancourse.plot import FAKE_COLOR, OKABE_ITO, REAL_COLOR

__all__ = ["BOXES", "FORWARD", "HIGHLIGHTS", "GRADIENT_PATHS", "LayerRow", "gan_diagram", "layer_shapes",
           "layer_table"]

#: The values ``highlight`` accepts (None draws the whole system with both gradient paths).
HIGHLIGHTS = ("discriminator_step", "generator_step")

_D_COLOR = OKABE_ITO[0]  # orange: the discriminator
_G_GRAD_COLOR = OKABE_ITO[2]  # bluish green: the generator's learning signal
_D_GRAD_COLOR = OKABE_ITO[6]  # reddish purple: the discriminator's learning signal
_NEUTRAL = "#555555"
_FROZEN_FACE, _FROZEN_EDGE = (0.85, 0.85, 0.85), (0.45, 0.45, 0.45)
_LABEL_BOX = dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.9)


@dataclass(frozen=True)
class Box:
    """One box of the diagram: centre ``(x, y)``, half-width ``w``, half-height ``h``, text and colour.

    ``arrow_color`` colours the forward arrows that leave the box; by default they take the box's own
    colour (generated data vermilion, real data blue).

    Explained in the chapter "GAN structure".
    """

    x: float
    y: float
    label: str
    color: str
    w: float = 1.25
    h: float = 0.62
    arrow_color: str | None = None


#: The boxes, by name. Generated data runs along the top row, real data along the bottom row; D's
#: output, neither real nor generated data, leaves D and the verdict on black arrows.
BOXES: dict[str, Box] = {
    "noise": Box(1.3, 5.8, "Random noise\n$z$", FAKE_COLOR),
    "generator": Box(4.6, 5.8, "Generator\n$G$", FAKE_COLOR),
    "fake_sample": Box(7.9, 5.8, "Generated\nsample $G(z)$", FAKE_COLOR),
    "real_data": Box(4.6, 1.4, "Real data\n(training set)", REAL_COLOR),
    "real_sample": Box(7.9, 1.4, "Real\nsample $x$", REAL_COLOR),
    "discriminator": Box(11.2, 3.6, "Discriminator\n$D$", _D_COLOR, arrow_color="black"),
    "verdict": Box(14.5, 3.6, "Verdict:\nreal or fake?", _D_COLOR, arrow_color="black"),
    "g_loss": Box(17.8, 5.8, "Generator\nloss", _NEUTRAL),
    "d_loss": Box(17.8, 1.4, "Discriminator\nloss", _NEUTRAL),
}

#: Forward arrows: data flowing from one box to the next.
FORWARD: tuple[tuple[str, str], ...] = (
    ("noise", "generator"),
    ("generator", "fake_sample"),
    ("fake_sample", "discriminator"),
    ("real_data", "real_sample"),
    ("real_sample", "discriminator"),
    ("discriminator", "verdict"),
    ("verdict", "g_loss"),
    ("verdict", "d_loss"),
)

#: Backward (gradient) paths, by the update that uses them. The generator's gradient passes through
#: D into G; the discriminator's stops at D (the generated sample is detached).
GRADIENT_PATHS: dict[str, tuple[str, ...]] = {
    "generator_step": ("g_loss", "verdict", "discriminator", "fake_sample", "generator"),
    "discriminator_step": ("d_loss", "verdict", "discriminator"),
}

_LEARNS = {"discriminator_step": "discriminator", "generator_step": "generator"}
_FROZEN = {"discriminator_step": "generator", "generator_step": "discriminator"}
#: The boxes an update does not use, drawn faded: D's update ignores the generator loss; G's update
#: ignores the discriminator loss and needs no real data.
_UNUSED = {"discriminator_step": ("g_loss",), "generator_step": ("d_loss", "real_data", "real_sample")}
_TITLES = {
    None: "The GAN system: data flows forward, gradients flow back",
    "discriminator_step": "Discriminator step: only D learns, G is frozen",
    "generator_step": "Generator step: gradients pass through frozen D into G",
}


def _edge(box: Box, toward: tuple[float, float]) -> tuple[float, float]:
    """The point where the line from the box's centre to ``toward`` leaves the box."""
    dx, dy = toward[0] - box.x, toward[1] - box.y
    if dx == 0 and dy == 0:
        return box.x, box.y
    scale = min(box.w / abs(dx) if dx else float("inf"), box.h / abs(dy) if dy else float("inf"))
    return box.x + dx * scale, box.y + dy * scale


def _segment(a: str, b: str, offset: float = 0.0) -> tuple[tuple[float, float], tuple[float, float]]:
    """Start and end of an arrow from box ``a`` to box ``b``, shifted sideways by ``offset``."""
    ba, bb = BOXES[a], BOXES[b]
    dx, dy = bb.x - ba.x, bb.y - ba.y
    norm = (dx * dx + dy * dy) ** 0.5
    nx, ny = -dy / norm * offset, dx / norm * offset  # unit normal (to the left of a -> b) times offset
    start = _edge(ba, (bb.x, bb.y))
    end = _edge(bb, (ba.x, ba.y))
    return (start[0] + nx, start[1] + ny), (end[0] + nx, end[1] + ny)


def _arrow(ax: plt.Axes, start, end, color: str, dashed: bool, alpha: float = 1.0, width: float = 1.8) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=color, alpha=alpha,
                                 linewidth=width, linestyle=(0, (4, 2.5)) if dashed else "-",
                                 shrinkA=1, shrinkB=1, zorder=3))


def gan_diagram(ax: plt.Axes | None = None, highlight: str | None = None, title: str | None = "auto",
                legend: bool = True) -> plt.Axes:
    """Draw the whole GAN system as boxes and arrows, and return the axis.

    Solid arrows are the forward pass: noise -> generator -> generated sample, real data -> real
    sample, both samples -> discriminator -> verdict -> generator loss and discriminator loss. Dashed
    arrows are backpropagation: the generator's learning signal runs from the generator loss back
    through the discriminator into the generator; the discriminator's runs from the discriminator
    loss into the discriminator and stops there.

    Args:
        ax: axis to draw on; a new 12 x 4.8 inch figure when None.
        highlight: None (the whole system, both gradient paths), ``"discriminator_step"`` or
            ``"generator_step"``: show one update of training, with the network that learns
            outlined, the frozen one hatched, the loss that update ignores faded, and only its
            gradient path drawn.
        title: the axis title; ``"auto"`` picks one that says what is shown, None leaves it empty.
        legend: draw a legend below the diagram.

    Explained in the chapter "GAN structure".
    """
    if highlight is not None and highlight not in HIGHLIGHTS:
        raise ValueError(f"highlight must be None, 'discriminator_step' or 'generator_step', got {highlight!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 4.8))

    learns = _LEARNS.get(highlight)
    frozen = _FROZEN.get(highlight)
    faded = _UNUSED.get(highlight, ())

    for name, box in BOXES.items():
        alpha = 0.35 if name in faded else 1.0  # parts this step does not use are faded
        rgb = to_rgb(box.color)
        face, edge, width, hatch = (*rgb, 0.18 * alpha), (*rgb, alpha), 1.5, None
        if name == learns:
            edge, width = (_G_GRAD_COLOR if name == "generator" else _D_GRAD_COLOR), 4.0
        if name == frozen:
            face, edge, hatch = _FROZEN_FACE, _FROZEN_EDGE, "///"
        patch = FancyBboxPatch((box.x - box.w, box.y - box.h), 2 * box.w, 2 * box.h,
                               boxstyle="round,pad=0.02,rounding_size=0.18", facecolor=face, edgecolor=edge,
                               linewidth=width, hatch=hatch, zorder=2, gid=name)
        ax.add_patch(patch)
        ax.text(box.x, box.y, box.label, ha="center", va="center", fontsize=10, alpha=alpha, zorder=4,
                bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.75)
                if name == frozen else None)
        if name == frozen:
            ax.text(box.x, box.y - box.h - 0.25, "frozen: weights unchanged", ha="center", va="top",
                    fontsize=9, color="#444444", style="italic", zorder=4, bbox=_LABEL_BOX)
        if name == learns:
            ax.text(box.x, box.y - box.h - 0.25, "learns: weights updated", ha="center", va="top",
                    fontsize=9, color=edge, fontweight="bold", zorder=4, bbox=_LABEL_BOX)

    for a, b in FORWARD:
        alpha = 0.35 if a in faded or b in faded else 1.0
        color = BOXES[a].arrow_color or BOXES[a].color
        _arrow(ax, *_segment(a, b), color=color, dashed=False, alpha=alpha)

    paths = GRADIENT_PATHS if highlight is None else {highlight: GRADIENT_PATHS[highlight]}
    for step, path in paths.items():
        color = _G_GRAD_COLOR if step == "generator_step" else _D_GRAD_COLOR
        offset = 0.32 if step == "generator_step" else -0.32
        for a, b in zip(path[:-1], path[1:]):
            # the backward arrow runs from a to b alongside the forward arrow from b to a
            (s, e) = _segment(b, a, offset=-offset)
            _arrow(ax, e, s, color=color, dashed=True, width=2.2)

    ax.set_xlim(-0.1, 19.2)
    ax.set_ylim(0.3 if not legend else -1.3, 6.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title == "auto":
        title = _TITLES[highlight]
    if title:
        ax.set_title(title)
    if legend:
        handles = [Line2D([], [], color=FAKE_COLOR, linewidth=1.8, label="forward: generated data"),
                   Line2D([], [], color=REAL_COLOR, linewidth=1.8, label="forward: real data"),
                   Line2D([], [], color="black", linewidth=1.8, label="forward: D's output")]
        if highlight in (None, "generator_step"):
            handles.append(Line2D([], [], color=_G_GRAD_COLOR, linewidth=2.2, linestyle=(0, (4, 2.5)),
                                  label="backprop from the generator loss"))
        if highlight in (None, "discriminator_step"):
            handles.append(Line2D([], [], color=_D_GRAD_COLOR, linewidth=2.2, linestyle=(0, (4, 2.5)),
                                  label="backprop from the discriminator loss"))
        if highlight is not None:
            handles.append(Patch(facecolor=_FROZEN_FACE, edgecolor=_FROZEN_EDGE, hatch="///",
                                 label="frozen in this step"))
        ax.legend(handles=handles, loc="lower center", ncol=3, fontsize=9, frameon=False,
                  bbox_to_anchor=(0.5, 0.0))
    return ax


@dataclass(frozen=True)
class LayerRow:
    """One row of a layer listing: the layer's position, kind, settings, output shape and size.

    ``shape`` is the output shape of one example (the batch dimension left out); ``parameters`` the
    number of trainable numbers the layer itself holds.

    Explained in the chapter "Welcome" (inside the two DCGAN networks).
    """

    index: int
    kind: str
    settings: str
    shape: tuple[int, ...]
    parameters: int


def _settings(layer) -> str:
    """A short description of a layer's settings (empty for layers without any)."""
    import torch.nn as nn

    if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
        (k, _), (s, _), (p, _) = layer.kernel_size, layer.stride, layer.padding
        return f"{layer.in_channels} → {layer.out_channels} channels, kernel {k}, stride {s}, padding {p}"
    if isinstance(layer, nn.Linear):
        return f"{layer.in_features} → {layer.out_features} features"
    if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return f"{layer.num_features} channels"
    if isinstance(layer, nn.LeakyReLU):
        return f"slope {layer.negative_slope:g} for negative inputs"
    return ""


def layer_shapes(model, example) -> list[LayerRow]:
    """Run ``example`` through ``model`` and list the output shape of every layer, in order.

    A forward hook on every leaf module (a layer with no sub-layers) records the shape of what it
    returns; a forward pre-hook on the first one records the shape that enters the layers. The
    list starts with an ``"input"`` row (index 0, that entering shape) and, when the model's
    ``forward`` reshapes the last layer's output (the DCGAN discriminator flattens its ``1x1x1``
    map into one logit per image), ends with an ``"output"`` row holding the shape it returns.

    The pass runs without gradients and in evaluation mode, so batch-norm running averages are left
    untouched; every module's training flag is restored and every hook removed afterwards.

    Args:
        model: a ``torch.nn.Module``.
        example: a batch the model accepts, e.g. ``torch.randn(2, 64)`` for a generator with
            64 noise values.

    Explained in the chapter "Welcome" (inside the two DCGAN networks).
    """
    import torch
    import torch.nn as nn

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(example, torch.Tensor) or example.dim() < 1 or len(example) < 1:
        raise TypeError("example must be a batch tensor with at least one example, e.g. torch.randn(2, 64)")
    leaves = [m for m in model.modules() if not list(m.children())]
    recorded: list[tuple[nn.Module, tuple[int, ...]]] = []
    entering: list[tuple[int, ...]] = []

    def record(module, _inputs, output):
        recorded.append((module, tuple(output.shape[1:])))

    def record_input(_module, inputs):
        if not entering:
            entering.append(tuple(inputs[0].shape[1:]))

    modes = {m: m.training for m in model.modules()}
    handles = [leaf.register_forward_hook(record) for leaf in leaves]
    handles.append(leaves[0].register_forward_pre_hook(record_input))
    try:
        model.eval()
        with torch.no_grad():
            output = model(example)
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes.items():
            module.training = mode
    rows = [LayerRow(0, "input", "", entering[0] if entering else tuple(example.shape[1:]), 0)]
    for i, (layer, shape) in enumerate(recorded, start=1):
        n = sum(p.numel() for p in layer.parameters(recurse=False) if p.requires_grad)
        rows.append(LayerRow(i, type(layer).__name__, _settings(layer), shape, n))
    out_shape = tuple(output.shape[1:])
    if out_shape != rows[-1].shape:
        rows.append(LayerRow(len(rows), "output", "returned by forward()", out_shape, 0))
    return rows


def _shape_text(shape: tuple[int, ...]) -> str:
    return " × ".join(map(str, shape)) if shape else "1 number"


def layer_table(model, example) -> str:
    """The rows of :func:`layer_shapes` as a Markdown pipe table (one line per layer).

    Columns: position, layer kind, its settings, the output shape of one example written
    ``channels × height × width``, and its number of parameters. Show it with
    ``display(Markdown(layer_table(model, example)))``.

    Explained in the chapter "Welcome" (inside the two DCGAN networks).
    """
    lines = ["| # | layer | settings | output shape | parameters |", "|---|---|---|---|---|"]
    for row in layer_shapes(model, example):
        lines.append(f"| {row.index} | {row.kind} | {row.settings} | {_shape_text(row.shape)} | "
                     f"{row.parameters:,} |")
    return "\n".join(lines)
