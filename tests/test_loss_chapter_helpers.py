"""The helpers of the chapter "Loss functions": loss-gradient curves and 1-D density plots."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gancourse import losses, plot  # noqa: E402
from gancourse.data import gaussian_mixture_1d  # noqa: E402

G_LOSSES = {
    "minimax": losses.g_minimax_loss,
    "nonsaturating": losses.g_nonsaturating_loss,
    "wasserstein": losses.wasserstein_generator_loss,
    "hinge": losses.g_hinge_loss,
    "least_squares": losses.g_least_squares_loss,
}


def teardown_function():
    plt.close("all")


def test_generator_loss_gradients_match_the_formulas():
    outputs = torch.tensor([-6.0, -1.0, 0.0, 2.0])
    p = torch.sigmoid(outputs)
    grads = plot.generator_loss_gradients(G_LOSSES, outputs)
    assert set(grads) == set(G_LOSSES)
    # d/do log(1 - sigmoid(o)) = -p ; d/do -log sigmoid(o) = -(1 - p)
    assert torch.allclose(grads["minimax"], -p, atol=1e-6)
    assert torch.allclose(grads["nonsaturating"], -(1 - p), atol=1e-6)
    assert torch.allclose(grads["wasserstein"], -torch.ones(4))
    assert torch.allclose(grads["hinge"], -torch.ones(4))
    assert torch.allclose(grads["least_squares"], outputs - 1)
    # per element, not divided by the batch size, and the input is left untouched
    assert not outputs.requires_grad


def test_saturating_gradient_is_small_where_d_rejects_the_fakes():
    grads = plot.generator_loss_gradients(G_LOSSES, torch.logit(torch.tensor([1e-3])))
    assert grads["minimax"].abs().item() < 2e-3 < 0.99 < grads["nonsaturating"].abs().item()


def test_generator_loss_gradients_refuses_bad_outputs():
    with pytest.raises(ValueError, match="outputs"):
        plot.generator_loss_gradients(G_LOSSES, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="outputs"):
        plot.generator_loss_gradients(G_LOSSES, torch.zeros(0))


def test_plot_loss_gradients_draws_one_curve_per_loss():
    outputs = torch.linspace(-3, 3, 7)
    grads = plot.generator_loss_gradients(G_LOSSES, outputs)
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
