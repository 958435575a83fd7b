"""The figures of the chapter "Loss functions": loss-gradient curves and 1-D density plots."""

import pytest
import torch

from gancourse import losses, plot
from gancourse.data import gaussian_mixture_1d

G_LOSSES = {name: pair.g for name, pair in losses.LOSSES.items()}  # the five generator losses, by name


def test_plot_loss_gradients_draws_one_curve_per_loss():
    outputs = torch.linspace(-3, 3, 7)
    grads = losses.generator_loss_gradients(G_LOSSES, outputs)
    ax = plot.plot_loss_gradients(outputs, grads, title="gradients", log=True)
    assert len(ax.lines) == len(G_LOSSES)
    assert ax.get_title() == "gradients" and ax.get_yscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel()
    # curves show sizes: the hinge loss's -1 is drawn as +1
    hinge = [line for line in ax.lines if line.get_label() == "hinge"][0]
    assert (hinge.get_ydata() == 1).all()
    with pytest.raises(ValueError, match="minimax"):
        plot.plot_loss_gradients(outputs, {"minimax": torch.zeros(3)})
    with pytest.raises(ValueError, match="empty"):
        plot.plot_loss_gradients(outputs, {})


def test_plot_1d_densities_with_and_without_curves():
    real, fake = gaussian_mixture_1d([2.0], [0.5]), gaussian_mixture_1d([-2.0], [0.5])
    x = torch.linspace(-4, 4, 50)
    ax, curve_ax = plot.plot_1d_densities(x, real.pdf(x), fake.pdf(x), title="two Gaussians")
    assert curve_ax is None and len(ax.collections) == 2 and ax.get_title() == "two Gaussians"
    ax, curve_ax = plot.plot_1d_densities(x, real.pdf(x), curves={"D(x)": torch.sigmoid(x), "critic": x},
                                          curve_label="output")
    assert len(ax.collections) == 1 and len(curve_ax.lines) == 2 and curve_ax.get_ylabel() == "output"
    labels = [t.get_text() for t in curve_ax.get_legend().get_texts()]
    assert labels == ["real data density", "D(x)", "critic"]
    with pytest.raises(ValueError, match="fake_density"):
        plot.plot_1d_densities(x, real.pdf(x), torch.zeros(3))
    with pytest.raises(ValueError, match="critic"):
        plot.plot_1d_densities(x, real.pdf(x), curves={"critic": torch.zeros(3)})
