"""Where GANs come from and where they stand: a table of milestones, its timeline, and StyleGAN's generator.

- :data:`MILESTONES`: the papers that shaped GANs from 2014 on, one :class:`Milestone` each (year,
  name, authors, title, venue, one-line contribution), in four kinds (:data:`CATEGORIES`): GAN models,
  ways of training them, GAN losses inside other systems (super-resolution, image tokenizers,
  distillation of diffusion models), and the other families of generative models that a GAN is
  compared with.
- :func:`milestone_rows`: the table as rows for :func:`gancourse.results.markdown_table`.
- :func:`plot_timeline`: the milestones on a time axis, one lane per kind.
- :func:`stylegan_diagram`: StyleGAN's generator as boxes and arrows (mapping network, style
  modulation, noise inputs), in the house style of :func:`gancourse.diagram.gan_diagram`.

Years are those of the venue that published the paper (a paper posted on arXiv a few months before
its conference is listed under the conference's year).

Explained in the chapter "GANs in context".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from gancourse.plot import FAKE_COLOR, OKABE_ITO

__all__ = ["Milestone", "CATEGORIES", "MILESTONES", "milestone_rows", "plot_timeline", "stylegan_diagram"]

#: The kinds of milestone, in the order of the timeline's lanes (bottom to top), with their colours.
CATEGORIES: dict[str, str] = {
    "other generative models": OKABE_ITO[7],
    "GAN losses elsewhere": OKABE_ITO[2],
    "training GANs": OKABE_ITO[0],
    "GAN models": FAKE_COLOR,
}


@dataclass(frozen=True)
class Milestone:
    """One paper of the timeline.

    Attributes:
        year: the year of the venue that published it.
        name: the short name the field uses (``"DCGAN"``).
        authors: first author "et al.", or both authors.
        title: the paper's title.
        venue: where it appeared (``"ICLR 2016"``).
        contribution: what it added, in one line.
        category: one of :data:`CATEGORIES`.

    Explained in the chapter "GANs in context".
    """

    year: int
    name: str
    authors: str
    title: str
    venue: str
    contribution: str
    category: str

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"Milestone {self.name!r}: category must be one of {list(CATEGORIES)}, got "
                             f"{self.category!r}")
        if not 2010 <= self.year <= 2100:
            raise ValueError(f"Milestone {self.name!r}: year {self.year!r} is out of range")


_GAN, _TRAIN, _ELSEWHERE, _OTHER = "GAN models", "training GANs", "GAN losses elsewhere", "other generative models"

#: The milestones, oldest first.
MILESTONES: tuple[Milestone, ...] = (
    Milestone(2014, "GAN", "Goodfellow et al.", "Generative adversarial nets", "NeurIPS 2014",
              "a generator trained against a discriminator in a two-player game", _GAN),
    Milestone(2014, "VAE", "Kingma and Welling", "Auto-encoding variational Bayes", "ICLR 2014",
              "an encoder and a decoder trained on a lower bound of the likelihood", _OTHER),
    Milestone(2014, "cGAN", "Mirza and Osindero", "Conditional generative adversarial nets", "arXiv 2014",
              "both networks read a label, so the label chooses what is generated", _GAN),
    Milestone(2016, "DCGAN", "Radford et al.", "Unsupervised representation learning with deep convolutional "
              "generative adversarial networks", "ICLR 2016",
              "rules for convolutional GANs that train stably (strides, batch norm, no pooling)", _GAN),
    Milestone(2017, "WGAN", "Arjovsky et al.", "Wasserstein generative adversarial networks", "ICML 2017",
              "a critic that estimates the earth mover's distance, with clipped weights", _TRAIN),
    Milestone(2017, "WGAN-GP", "Gulrajani et al.", "Improved training of Wasserstein GANs", "NeurIPS 2017",
              "a gradient penalty instead of weight clipping", _TRAIN),
    Milestone(2017, "pix2pix", "Isola et al.", "Image-to-image translation with conditional adversarial networks",
              "CVPR 2017", "a conditional GAN that turns one image into another, learned from pairs", _GAN),
    Milestone(2017, "SRGAN", "Ledig et al.", "Photo-realistic single image super-resolution using a generative "
              "adversarial network", "CVPR 2017",
              "an adversarial loss added to a super-resolution network for sharp detail", _ELSEWHERE),
    Milestone(2018, "PGGAN", "Karras et al.", "Progressive growing of GANs for improved quality, stability, and "
              "variation", "ICLR 2018", "training from 4x4 up to 1024x1024, one resolution at a time", _GAN),
    Milestone(2018, "SNGAN", "Miyato et al.", "Spectral normalization for generative adversarial networks",
              "ICLR 2018", "each layer of D divided by its largest singular value: a 1-Lipschitz D", _TRAIN),
    Milestone(2018, "R1", "Mescheder et al.", "Which training methods for GANs do actually converge?", "ICML 2018",
              "a penalty on D's gradient at the real data, which makes training converge locally", _TRAIN),
    Milestone(2019, "BigGAN", "Brock et al.", "Large scale GAN training for high fidelity natural image synthesis",
              "ICLR 2019", "class-conditional GANs scaled up to ImageNet at 512x512", _GAN),
    Milestone(2019, "StyleGAN", "Karras et al.", "A style-based generator architecture for generative adversarial "
              "networks", "CVPR 2019", "a mapping network, per-layer styles and noise inputs", _GAN),
    Milestone(2020, "StyleGAN2", "Karras et al.", "Analyzing and improving the image quality of StyleGAN",
              "CVPR 2020", "weight demodulation in place of instance normalisation; lazy R1", _GAN),
    Milestone(2020, "StyleGAN2-ADA", "Karras et al.", "Training generative adversarial networks with limited data",
              "NeurIPS 2020", "adaptive augmentation of D's inputs, for data sets of a few thousand images", _TRAIN),
    Milestone(2020, "DDPM", "Ho et al.", "Denoising diffusion probabilistic models", "NeurIPS 2020",
              "a network trained to remove noise, sampled in many small denoising steps", _OTHER),
    Milestone(2021, "ADM", "Dhariwal and Nichol", "Diffusion models beat GANs on image synthesis", "NeurIPS 2021",
              "a diffusion model ahead of BigGAN on ImageNet by FID", _OTHER),
    Milestone(2021, "StyleGAN3", "Karras et al.", "Alias-free generative adversarial networks", "NeurIPS 2021",
              "signal processing without aliasing, so details move with the objects", _GAN),
    Milestone(2021, "VQGAN", "Esser et al.", "Taming transformers for high-resolution image synthesis", "CVPR 2021",
              "an image tokenizer trained with an adversarial patch loss", _ELSEWHERE),
    Milestone(2021, "Real-ESRGAN", "Wang et al.", "Real-ESRGAN: training real-world blind super-resolution with "
              "pure synthetic data", "ICCV Workshops 2021",
              "GAN-trained super-resolution of real photographs", _ELSEWHERE),
    Milestone(2022, "Latent diffusion", "Rombach et al.", "High-resolution image synthesis with latent diffusion "
              "models", "CVPR 2022", "diffusion in the code space of an autoencoder trained with a GAN loss", _OTHER),
    Milestone(2022, "StyleGAN-XL", "Sauer et al.", "StyleGAN-XL: scaling StyleGAN to large diverse datasets",
              "SIGGRAPH 2022", "StyleGAN scaled to ImageNet at 1024x1024", _GAN),
    Milestone(2023, "GigaGAN", "Kang et al.", "Scaling up GANs for text-to-image synthesis", "CVPR 2023",
              "a one-billion-parameter text-to-image GAN", _GAN),
    Milestone(2024, "ADD", "Sauer et al.", "Adversarial diffusion distillation", "ECCV 2024",
              "a diffusion model distilled into a 1 to 4 step generator with an adversarial loss", _ELSEWHERE),
    Milestone(2024, "DMD2", "Yin et al.", "Improved distribution matching distillation for fast image synthesis",
              "NeurIPS 2024", "one-step distillation of diffusion models, with a GAN loss on real images",
              _ELSEWHERE),
    Milestone(2024, "R3GAN", "Huang et al.", "The GAN is dead; long live the GAN! A modern GAN baseline",
              "NeurIPS 2024", "a regularised relativistic loss (with R1 and R2) and a modern backbone, no tricks",
              _GAN),
)


def milestone_rows(milestones: Sequence[Milestone] = MILESTONES, category: str | None = None) -> list[dict]:
    """The milestones (of one ``category``, or all) as table rows with the keys year, name, paper, contribution.

    ``paper`` reads "authors, *title*, venue". Pass the rows to :func:`gancourse.results.markdown_table`.

    Explained in the chapter "GANs in context".
    """
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"category must be None or one of {list(CATEGORIES)}, got {category!r}")
    return [{"year": m.year, "name": m.name, "paper": f"{m.authors}, *{m.title}*, {m.venue}",
             "contribution": m.contribution, "category": m.category}
            for m in milestones if category is None or m.category == category]


_ROW = 0.42  # height of one row of names in a lane, in axis units
_CHAR_YEARS = 0.11  # width of one character of a name at font size 8 in a 10-inch figure, in years


def plot_timeline(milestones: Sequence[Milestone] = MILESTONES, ax: plt.Axes | None = None,
                  title: str | None = "GANs and their neighbours, 2014 to today") -> plt.Axes:
    """The milestones on a time axis: one lane per kind (:data:`CATEGORIES`), one dot and name per paper.

    Within a lane, a paper whose name would run into the one before it moves up a row. The figure is computed from the
    table, so a milestone added to :data:`MILESTONES` appears without further work.

    Explained in the chapter "GANs in context".
    """
    if not milestones:
        raise ValueError("milestones must hold at least one Milestone")
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 5.6))
    lanes = list(CATEGORIES)
    # Within a lane, each paper goes to the lowest row where its name does not run into the previous one.
    rows: dict[str, list[tuple[Milestone, int]]] = defaultdict(list)
    row_ends: dict[str, list[float]] = defaultdict(list)
    for m in sorted(milestones, key=lambda m: (m.year, m.name)):
        ends = row_ends[m.category]
        row = next((r for r, end in enumerate(ends) if end + 0.1 < m.year), len(ends))
        if row == len(ends):
            ends.append(0.0)
        ends[row] = m.year + 0.15 + _CHAR_YEARS * len(m.name)
        rows[m.category].append((m, row))
    depth = max(len(ends) for ends in row_ends.values())
    lane_height = _ROW * depth + 0.5
    for k, lane in enumerate(lanes):
        base = k * lane_height
        ax.axhspan(base - 0.25, base + lane_height - 0.45, color=CATEGORIES[lane], alpha=0.07, linewidth=0)
        ax.text(2013.35, base + _ROW * (depth - 1) / 2, lane, ha="right", va="center", fontsize=9,
                color=CATEGORIES[lane], fontweight="bold")
        for m, row in rows[lane]:
            y = base + _ROW * row
            ax.plot(m.year, y, "o", color=CATEGORIES[lane], markersize=6, zorder=3)
            ax.text(m.year + 0.12, y, m.name, va="center", ha="left", fontsize=8, zorder=4)
    years = [m.year for m in milestones]
    ax.set_xlim(min(years) - 0.4, max(years) + 1.1)
    ax.set_ylim(-0.6, len(lanes) * lane_height - 0.3)
    ax.set_xticks(range(min(years), max(years) + 1))
    ax.tick_params(axis="x", labelsize=9)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("year of publication")
    if title:
        ax.set_title(title)
    return ax


def _box(ax: plt.Axes, x: float, y: float, w: float, h: float, text: str, color: str, *, fontsize: float = 9) -> None:
    rgb_face = (*plt.matplotlib.colors.to_rgb(color), 0.18)
    ax.add_patch(FancyBboxPatch((x - w, y - h), 2 * w, 2 * h, boxstyle="round,pad=0.02,rounding_size=0.15",
                                facecolor=rgb_face, edgecolor=color, linewidth=1.5, zorder=2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def _line(ax: plt.Axes, points: Sequence[tuple[float, float]], color: str, *, arrow: bool = True,
          dashed: bool = False) -> None:
    style = (0, (4, 2.5)) if dashed else "-"
    for a, b in zip(points[:-2], points[1:-1]):
        ax.plot([a[0], b[0]], [a[1], b[1]], color=color, linewidth=1.6, linestyle=style, zorder=1)
    ax.add_patch(FancyArrowPatch(points[-2], points[-1], arrowstyle="-|>" if arrow else "-", mutation_scale=13,
                                 color=color, linewidth=1.6, linestyle=style, shrinkA=0, shrinkB=0, zorder=3))


def stylegan_diagram(ax: plt.Axes | None = None, title: str | None = "StyleGAN's generator") -> plt.Axes:
    """StyleGAN's generator (Karras et al., 2019; StyleGAN2, 2020) as boxes and arrows.

    Left, the **mapping network**: the noise z passes through 8 fully connected layers and becomes an
    intermediate code w. Middle, a learned affine map **A** per layer turns w into a *style*, a scale
    per channel, that **modulates** that layer's convolution weights (in StyleGAN2: multiply the
    weights by the style, then divide each output channel by its norm, "demodulation"). Right, the
    **synthesis network** starts from a learned constant 4x4 map, not from z, and doubles the
    resolution block after block; each block also receives fresh **noise**, scaled per channel by
    learned weights **B**, for stochastic detail such as the placement of hairs.

    Explained in the chapter "GANs in context".
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 5.4))
    mapping, style, synthesis, noise = OKABE_ITO[6], OKABE_ITO[2], FAKE_COLOR, "#777777"
    # the mapping network: z -> 8 FC -> w
    _box(ax, 1.6, 9.0, 1.2, 0.5, "noise $z$\n(512 numbers)", mapping)
    _box(ax, 1.6, 6.0, 1.2, 1.8, "mapping\nnetwork $f$\n\n8 fully\nconnected\nlayers", mapping)
    _box(ax, 1.6, 3.0, 1.2, 0.5, "code $w = f(z)$", mapping)
    _line(ax, [(1.6, 8.5), (1.6, 7.8)], mapping)
    _line(ax, [(1.6, 4.2), (1.6, 3.5)], mapping)
    # the synthesis network: constant -> blocks -> image
    blocks = [(8.6, "4×4"), (6.4, "8×8"), (3.2, "1024×1024")]
    _box(ax, 11.0, 10.2, 2.3, 0.45, "learned constant, 4×4", synthesis)
    _line(ax, [(11.0, 9.75), (11.0, 9.2)], synthesis)
    for k, (y, size) in enumerate(blocks):
        label = f"{'' if k == 0 else 'upsample, '}modulated\n3×3 convolutions, {size}"
        _box(ax, 11.0, y, 2.3, 0.6, label, synthesis, fontsize=8.5)
        # w -> A -> style into the block
        _box(ax, 6.4, y, 0.45, 0.4, "A", style)
        _line(ax, [(2.8, 3.0), (4.4, 3.0), (4.4, y), (5.95, y)], mapping)
        _line(ax, [(6.85, y), (8.7, y)], style)
        ax.text(7.75, y + 0.18, "style", ha="center", va="bottom", fontsize=8, color=style)
        # noise -> B -> block
        _box(ax, 15.9, y, 0.75, 0.4, "noise", noise, fontsize=8)
        _box(ax, 14.3, y, 0.35, 0.35, "B", noise, fontsize=8.5)
        _line(ax, [(15.15, y), (14.65, y)], noise)
        _line(ax, [(13.95, y), (13.3, y)], noise)
    _line(ax, [(11.0, 8.0), (11.0, 7.0)], synthesis)
    ax.text(11.0, 5.1, "...", ha="center", va="center", fontsize=16, color=synthesis)
    _line(ax, [(11.0, 5.8), (11.0, 5.4)], synthesis, arrow=False)
    _line(ax, [(11.0, 4.7), (11.0, 3.8)], synthesis)
    _box(ax, 11.0, 1.1, 2.3, 0.45, "image, 1024×1024", synthesis)
    _line(ax, [(11.0, 2.6), (11.0, 1.55)], synthesis)
    ax.text(1.6, 1.6, "mapping network", ha="center", fontsize=9, color=mapping, fontweight="bold")
    ax.text(6.4, 1.6, "styles", ha="center", fontsize=9, color=style, fontweight="bold")
    ax.text(11.0, 11.1, "synthesis network", ha="center", fontsize=9, color=synthesis, fontweight="bold")
    ax.text(15.3, 1.6, "noise inputs", ha="center", fontsize=9, color=noise, fontweight="bold")
    ax.set_xlim(0.2, 16.9)
    ax.set_ylim(0.4, 11.5)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax
