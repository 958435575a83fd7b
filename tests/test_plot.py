"""The shared figures draw what they are given, and refuse what they cannot draw."""

import pytest
import torch

from gancourse import plot
from gancourse.models import MLPDiscriminator

from helpers import strokes


def test_make_grid_refuses_what_is_not_a_batch_of_images():
    with pytest.raises(ValueError, match=r"make_grid expects images of shape \(N, C, H, W\), got \(4, 4\)"):
        plot.make_grid(torch.zeros(4, 4))


def test_make_grid_layout_and_range():
    images = torch.linspace(-1, 1, 5 * 4 * 3).reshape(5, 1, 4, 3)
    grid = plot.make_grid(images, nrow=2, padding=1)
    assert grid.shape == (3 * 5 + 1, 2 * 4 + 1, 1)
    assert grid.min() >= 0 and grid.max() <= 1
    # the first image sits after one pixel of padding
    assert torch.allclose(grid[1:5, 1:4, 0], (images[0, 0] + 1) / 2)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        plot.make_grid(torch.zeros(3, 4, 4))


def test_image_grid_and_snapshots():
    ax = plot.image_grid(torch.rand(10, 1, 8, 8) * 2 - 1, nrow=5, title="digits")
    assert ax.get_title() == "digits" and len(ax.images) == 1
    fig = plot.plot_snapshots({0: torch.zeros(4, 1, 8, 8), 10: torch.ones(4, 1, 8, 8)})
    assert [a.get_title() for a in fig.axes] == ["step 0", "step 10"]
    with pytest.raises(ValueError, match="snapshot"):
        plot.plot_snapshots({})


def test_moving_average_golden_values():
    # trailing window of 2; the first entry repeats the first value: (1 + 1)/2, (1 + 3)/2, (3 + 5)/2, (5 + 7)/2
    assert plot.moving_average([1.0, 3.0, 5.0, 7.0], 2).tolist() == [1.0, 2.0, 4.0, 6.0]
    assert plot.moving_average([1.0, 3.0, 5.0], 3).tolist() == pytest.approx([1.0, 5 / 3, 3.0])
    assert plot.moving_average([1.0, 3.0], 1).tolist() == [1.0, 3.0]  # a window of 1 is the raw curve
    assert plot.moving_average([1.0, 3.0], 5).tolist() == [1.0, 3.0]  # and so is a window longer than it


def test_plot_history():
    history = {"step": [1, 2, 3], "d_loss": [1.0, 0.9, 0.8], "g_loss": [0.7, 0.8, 0.9],
               "d_acc_real": [0.9, 0.8, 0.6], "d_acc_fake": [0.9, 0.7, 0.5], "d_acc": [0.9, 0.75, 0.55]}
    axes = plot.plot_history(history, smooth=2)
    assert len(axes[0].lines) == 2 and len(axes[1].lines) == 4
    (overall,) = [line for line in axes[1].lines if line.get_label() == "overall"]
    assert list(overall.get_ydata()) == pytest.approx(plot.moving_average(history["d_acc"], 2).tolist())
    with pytest.raises(ValueError, match="g_loss"):
        plot.plot_history({"step": [], "d_loss": []})
    with pytest.raises(ValueError, match="d_acc"):  # D's overall accuracy is read from the history
        plot.plot_history({k: v for k, v in history.items() if k != "d_acc"})


def test_heatmap_and_scatter():
    torch.manual_seed(0)
    d = MLPDiscriminator(2, (8,))
    heat = plot.discriminator_heatmap(d, (-1, 1, -2, 2), resolution=20)
    assert heat.shape == (20, 20) and heat.min() >= 0 and heat.max() <= 1
    ax = plot.scatter_2d(torch.randn(30, 2), torch.randn(20, 2), discriminator=d, arrows=True, title="t")
    assert len(ax.collections) >= 3  # real points, fake points, arrows
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot.scatter_2d(torch.randn(5, 3), torch.randn(5, 2))


def test_plot_mode_occupancy():
    shares = torch.tensor([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    ax = plot.plot_mode_occupancy([0, 10, 20], shares, title="occupancy")
    image = ax.images[0]
    assert image.get_extent() == [-5.0, 25.0, 1.5, -0.5]  # columns centred on their steps, modes down
    assert image.get_clim() == (0, 0.5) and ax.get_title() == "occupancy"
    with pytest.raises(ValueError, match="len"):
        plot.plot_mode_occupancy([0, 10], shares)


def test_plot_2d_snapshots():
    snaps = {0: torch.zeros(5, 2), 4: torch.ones(5, 2)}
    fig = plot.plot_2d_snapshots(snaps, torch.randn(20, 2), steps=[0, 4], lim=2.0)
    assert [a.get_title() for a in fig.axes] == ["step 0", "step 4"]
    assert fig.axes[0].get_xlim() == (-2.0, 2.0) and len(fig.axes[1].collections) == 2
    with pytest.raises(ValueError, match="missing"):
        plot.plot_2d_snapshots(snaps, torch.randn(20, 2), steps=[8])


def test_plot_parameter_paths():
    circle = torch.stack([torch.cos(torch.linspace(0, 6, 50)), torch.sin(torch.linspace(0, 6, 50))], dim=1)
    spiral = circle * torch.linspace(1, 0.01, 50)[:, None]
    fig = plot.plot_parameter_paths({"circle": circle, "spiral": spiral}, emphasise="spiral")
    ax_p, ax_r = fig.axes
    assert [line.get_label() for line in ax_p.get_lines()[:2]] == ["circle", "spiral"]
    assert ax_p.get_lines()[1].get_linestyle() == ":" and ax_r.get_yscale() == "log"
    distance = ax_r.get_lines()[0].get_ydata()
    assert abs(float(distance[0]) - 1.0) < 1e-6  # the distance to (0, 0)
    with pytest.raises(ValueError, match=r"\(T, 2\)"):
        plot.plot_parameter_paths({"bad": torch.zeros(5, 3)})


def test_plot_rows_draws_one_labelled_strip_per_row():
    x = strokes(5)
    fig = plot.plot_rows({"input": torch.nn.functional.avg_pool2d(x, 4), "output": x}, title="t", xlabel="examples")
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ["input", "output"]
    assert axes[0].get_title() == "t" and axes[-1].get_xlabel() == "examples"
    with pytest.raises(ValueError, match="at least one"):
        plot.plot_rows({})
