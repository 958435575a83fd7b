"""The shared figures draw what they are given, and refuse what they cannot draw."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gancourse import plot  # noqa: E402
from gancourse.models import MLPDiscriminator  # noqa: E402


def teardown_function():
    plt.close("all")


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


def test_plot_history():
    history = {"step": [1, 2, 3], "d_loss": [1.0, 0.9, 0.8], "g_loss": [0.7, 0.8, 0.9],
               "d_acc_real": [0.9, 0.8, 0.6], "d_acc_fake": [0.9, 0.7, 0.5]}
    axes = plot.plot_history(history, smooth=2)
    assert len(axes[0].lines) == 2 and len(axes[1].lines) == 4
    with pytest.raises(ValueError, match="g_loss"):
        plot.plot_history({"step": [], "d_loss": []})


def test_heatmap_and_scatter():
    torch.manual_seed(0)
    d = MLPDiscriminator(2, (8,))
    heat = plot.discriminator_heatmap(d, (-1, 1, -2, 2), resolution=20)
    assert heat.shape == (20, 20) and heat.min() >= 0 and heat.max() <= 1
    ax = plot.scatter_2d(torch.randn(30, 2), torch.randn(20, 2), discriminator=d, arrows=True, title="t")
    assert len(ax.collections) >= 3  # real points, fake points, arrows
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot.scatter_2d(torch.randn(5, 3), torch.randn(5, 2))
