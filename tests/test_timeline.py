"""The chapter "GANs in context": the milestone table, its figures, and spectral normalisation (fast, CPU)."""

import dataclasses

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from gancourse.models import DCGANDiscriminator, MLPDiscriminator, spectral_normalize
from gancourse.results import markdown_table
from gancourse.timeline import CATEGORIES, MILESTONES, Milestone, milestone_rows, plot_timeline, stylegan_diagram

# -- the table ----------------------------------------------------------------------------------


def test_the_table_covers_the_history_the_chapter_tells():
    names = {m.name for m in MILESTONES}
    for name in ("GAN", "DCGAN", "WGAN", "WGAN-GP", "PGGAN", "SNGAN", "BigGAN", "StyleGAN", "StyleGAN2", "StyleGAN3",
                 "R3GAN", "VQGAN", "Real-ESRGAN", "ADD", "DMD2", "VAE", "DDPM"):
        assert name in names, name
    assert len(names) == len(MILESTONES), "names are unique"
    assert [m.year for m in MILESTONES] == sorted(m.year for m in MILESTONES), "oldest first"
    assert {m.category for m in MILESTONES} == set(CATEGORIES)
    for m in MILESTONES:
        assert m.authors and m.title and m.contribution and str(m.year) in m.venue, m


def test_known_entries():
    by_name = {m.name: m for m in MILESTONES}
    assert (by_name["GAN"].year, by_name["GAN"].venue) == (2014, "NeurIPS 2014")
    assert by_name["SNGAN"].category == "training GANs" and by_name["VQGAN"].category == "GAN losses elsewhere"
    assert by_name["R3GAN"].venue == "NeurIPS 2024" and by_name["DDPM"].category == "other generative models"


def test_milestones_are_checked_when_made():
    with pytest.raises(ValueError, match="category"):
        Milestone(2020, "X", "A et al.", "T", "V 2020", "c", "diffusion")
    with pytest.raises(ValueError, match="year"):
        Milestone(1990, "X", "A et al.", "T", "V 1990", "c", "GAN models")
    with pytest.raises(dataclasses.FrozenInstanceError):
        MILESTONES[0].year = 2015


def test_rows_feed_a_markdown_table():
    rows = milestone_rows(category="GAN losses elsewhere")
    assert rows and all(r["category"] == "GAN losses elsewhere" for r in rows)
    assert len(milestone_rows()) == len(MILESTONES)
    table = markdown_table(rows, {"year": "year", "name": "name", "paper": "paper"})
    assert "VQGAN" in table and "*Taming transformers" in table
    with pytest.raises(ValueError, match="category"):
        milestone_rows(category="nope")


# -- the figures --------------------------------------------------------------------------------


def test_timeline_draws_every_milestone_once_without_overlap_in_a_row():
    ax = plot_timeline()
    labels = [t.get_text() for t in ax.texts]
    assert sorted(m.name for m in MILESTONES) == sorted(label for label in labels if label not in CATEGORIES)
    assert ax.figure.get_size_inches()[0] <= 10
    # names of one row of a lane never touch: each starts after the previous one's estimated end
    names = {t.get_text(): t.get_position() for t in ax.texts if t.get_text() not in CATEGORIES}
    rows: dict[float, list[tuple[float, str]]] = {}
    for name, (x, y) in names.items():
        rows.setdefault(round(y, 3), []).append((x, name))
    for row in rows.values():
        row.sort()
        for (x0, a), (x1, _) in zip(row, row[1:]):
            assert x1 > x0 + 0.11 * len(a), (a, x0, x1)
    plt.close(ax.figure)


def test_timeline_refuses_an_empty_table():
    with pytest.raises(ValueError, match="at least one"):
        plot_timeline([])


def test_stylegan_diagram_shows_the_three_ideas():
    ax = stylegan_diagram()
    text = " ".join(t.get_text() for t in ax.texts)
    for part in ("mapping", "code $w", "learned constant", "modulated", "noise", "style"):
        assert part in text, part
    labels = [t.get_text() for t in ax.texts]
    assert labels.count("A") == labels.count("B") == sum("modulated" in t for t in labels) == 3
    assert ax.figure.get_size_inches()[0] <= 10


# -- spectral normalisation (gancourse.models.spectral_normalize) ------------------------------------


def test_spectral_normalize_bounds_every_layer_and_the_whole_network():
    torch.manual_seed(0)
    d = MLPDiscriminator(2, (64, 64))
    for layer in d.modules():
        if isinstance(layer, nn.Linear):
            with torch.no_grad():
                layer.weight.mul_(10)  # make the plain network steep
    before = [p for p in d.parameters()]
    assert spectral_normalize(d) is d
    after = list(d.parameters())  # the same parameter objects: an optimiser built before still updates them
    assert {id(p) for p in after} == {id(p) for p in before} and len(after) == len(before)
    for _ in range(30):  # power iteration converges over forward passes in training mode
        d(torch.randn(8, 2))
    d.eval()
    for layer in d.modules():
        if isinstance(layer, nn.Linear):
            assert torch.linalg.matrix_norm(layer.weight, ord=2).item() == pytest.approx(1.0, abs=0.02)
    x = torch.randn(256, 2, requires_grad=True)
    (grad,) = torch.autograd.grad(d(x).sum(), x)
    assert grad.norm(dim=1).max().item() <= 1.02  # a 1-Lipschitz discriminator


def test_spectral_normalize_covers_convolutions_and_is_idempotent():
    d = DCGANDiscriminator(image_size=8, width=4)
    spectral_normalize(d)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)
    spectral_normalize(d)  # a second call leaves the layers as they are
    assert all(len(m.parametrizations.weight) == 1 for m in convs)
    assert d(torch.randn(3, 1, 8, 8)).shape == (3,)
    with pytest.raises(ValueError, match="n_power_iterations"):
        spectral_normalize(d, n_power_iterations=0)
