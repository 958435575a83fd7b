"""The 2-D explorer: its logic without a display, and its widgets driven the way a reader drives them."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gancourse import explorer as E  # noqa: E402
from gancourse.data import GaussianMixture  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# The ipywidgets 7 checks of the explorer's widgets (IPYWIDGETS7_API) are in tests/test_colab.py.


def small(**settings) -> E.Explorer:
    """An explorer small enough for a unit test."""
    return E.Explorer(hidden=(8,), n_points=32, batch_size=16, **settings)


def teardown_function():
    plt.close("all")


# ------------------------------------------------------------------ the logic, with no display


def test_settings_are_validated_with_clear_messages():
    with pytest.raises(ValueError, match="distribution must be one of"):
        E.ExplorerSettings(distribution="swirl")
    # the training options are a TrainConfig's, checked by it
    with pytest.raises(ValueError, match="unknown loss 'hinged'; expected one of"):
        E.ExplorerSettings().changed(loss="hinged")
    with pytest.raises(ValueError, match="d_steps must be a positive int"):
        E.ExplorerSettings().changed(d_steps=0)
    with pytest.raises(ValueError, match="learning rates must be positive"):
        E.ExplorerSettings().changed(lr_d=0.0)
    with pytest.raises(ValueError, match="hidden must be"):
        E.ExplorerSettings(hidden=())
    with pytest.raises(ValueError, match="n_points must be a positive int"):
        E.ExplorerSettings(n_points=0)
    with pytest.raises(ValueError, match="unknown explorer setting"):
        E.Explorer(colour="red")
    ex = small()
    with pytest.raises(ValueError, match="n must be a positive int"):
        ex.step(0)
    with pytest.raises(ValueError, match="unknown explorer setting"):
        ex.update(k=3)


def test_steps_and_live_changes_keep_the_networks():
    ex = small(d_steps=1, lr_d=1e-3)
    assert ex.steps_done == 0
    ex.step(3)
    assert ex.steps_done == 3 and ex.trainer.step == 3
    weights = [p.clone() for p in ex.trainer.generator.parameters()]
    assert ex.update(d_steps=4, lr_d=1e-2, lr_g=5e-3) is False  # no reset
    assert ex.steps_done == 3
    assert ex.trainer.config.d_steps == 4 and ex.settings.config.d_steps == 4
    assert [g["lr"] for g in ex.trainer.opt_d.param_groups] == [1e-2]
    assert [g["lr"] for g in ex.trainer.opt_g.param_groups] == [5e-3]
    assert all(torch.equal(a, b) for a, b in zip(weights, ex.trainer.generator.parameters()))
    ex.step(1)
    assert ex.steps_done == 4
    assert ex.update(d_steps=4) is False  # no change at all


def test_problem_changes_reset_to_step_zero():
    ex = small()
    ex.step(2)
    assert ex.update(distribution="grid") is True
    assert ex.steps_done == 0 and ex.trainer.history["step"] == []
    assert isinstance(ex.data, GaussianMixture) and ex.data.n_modes == 25
    assert ex.bounds[0] < -4 and ex.bounds[1] > 4  # the whole grid is in view
    ex.update(latent_dim=3, noise="uniform")
    assert ex.trainer.config.latent_dim == 3 and ex.trainer.generator.latent_dim == 3
    assert ex.trainer.config.noise == "uniform" and ex.noise_points.abs().max() <= 1
    ex.update(loss="wasserstein")
    assert ex.trainer.config.gp_weight == E.WASSERSTEIN_GP_WEIGHT
    assert ex.trainer.config.loss == "wasserstein"
    ex.step(2)
    ex.reset()
    assert ex.steps_done == 0 and ex.settings.config.loss == "wasserstein"
    ex.update(loss="hinge")
    assert ex.trainer.config.gp_weight == 0.0  # the penalty came with the Wasserstein loss only


def test_settings_hold_a_train_config():
    s = E.ExplorerSettings()
    assert s.config == E.EXPLORER_CONFIG and s.train_config().n_fixed == s.n_points
    t = s.changed(distribution="grid", d_steps=3, seed=2)
    assert (t.distribution, t.config.d_steps, t.config.seed) == ("grid", 3, 2)
    assert t.get("d_steps") == 3 and t.get("distribution") == "grid"
    assert s.config.d_steps == 1  # the settings themselves are frozen
    assert not hasattr(E, "RESET_SETTINGS")


def test_same_settings_same_run():
    a, b = small(seed=3), small(seed=3)
    a.step(5)
    b.step(5)
    assert torch.equal(a.fake_points(), b.fake_points())
    assert not torch.equal(a.fake_points(), small(seed=4).fake_points())


def test_view_is_a_frozen_copy_and_metrics_exist_only_for_mixtures():
    ex = small()
    ex.step(2)
    view = ex.view()
    assert view.step == 2 and view.fake.shape == (32, 2) and view.real.shape == (32, 2)
    assert view.probability is True and view.metrics is not None and view.metrics.n_modes == 8
    assert len(view.history["step"]) == 2
    before = [p.clone() for p in view.discriminator.parameters()]
    ex.step(3)
    assert all(torch.equal(a, b) for a, b in zip(before, view.discriminator.parameters()))
    assert len(view.history["step"]) == 2
    assert "step 5" in ex.status() and "modes captured" in ex.status()
    ex.update(distribution="moons")
    assert ex.metrics() is None and ex.view().metrics is None
    assert "modes" not in ex.status()


def test_png_needs_no_display_and_leaves_no_figure_open():
    ex = small(loss="least_squares")
    ex.step(1)
    png = ex.png(dpi=40)
    assert png.startswith(b"\x89PNG")
    assert plt.get_fignums() == []


def test_draw_view_panels_and_fixed_layout():
    ex = small()
    ex.step(4)
    fig = plt.figure()
    axes = E.draw_view(ex.view(), fig, resolution=10, max_step=100, tight=False)
    assert len(axes) == 3
    assert axes[0].get_title().startswith("step 4: ring, nonsaturating, k=1")
    assert axes[1].get_xlim() == (0, 100) and axes[2].get_title() == "Discriminator accuracy"
    assert len(axes[0].collections) >= 3  # real points, generated points, arrows


# ------------------------------------------------------------------ the widget, driven like a reader


@pytest.fixture
def widget():
    pytest.importorskip("ipywidgets")
    return E.ExplorerWidget(small(), run_steps=20, redraw_every=10, dpi=30)


def test_widget_starts_drawn(widget):
    assert widget.redraws == 1
    assert widget.picture.value.startswith('<img src="data:image/png;base64,')
    assert "step 0" in widget.status.value
    assert widget.box.children[-1] is widget.picture


def test_buttons_train_and_redraw(widget):
    ex = widget.explorer
    picture = widget.picture.value
    widget.step_button.click()
    assert ex.steps_done == 1 and widget.redraws == 2
    assert widget.picture.value != picture and "step 1" in widget.status.value
    widget.run_steps.value = 30
    assert widget.run_button.description == "Run 30 steps"
    widget.run_button.click()
    assert ex.steps_done == 31
    assert widget.redraws == 2 + 3  # one picture every redraw_every=10 steps
    widget.reset_button.click()
    assert ex.steps_done == 0 and widget.redraws == 6


def test_controls_change_the_trainer(widget):
    ex = widget.explorer
    widget.step_button.click()
    widget.d_steps.value = 5
    assert ex.trainer.config.d_steps == 5 and ex.steps_done == 1  # live: same run
    widget.lr_d.value = 1e-2
    assert ex.trainer.opt_d.param_groups[0]["lr"] == pytest.approx(1e-2)
    widget.lr_g.value = 1e-4
    assert ex.trainer.opt_g.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert ex.steps_done == 1
    redraws = widget.redraws
    widget.distribution.value = "spiral"
    assert ex.steps_done == 0 and ex.settings.distribution == "spiral" and widget.redraws == redraws + 1
    assert ex.trainer.config.d_steps == 5  # k was kept through the reset
    widget.loss.value = "hinge"
    assert ex.trainer.config.loss == "hinge"
    widget.noise.value = "uniform"
    assert ex.trainer.config.noise == "uniform"
    widget.latent_dim.value = 4
    assert ex.trainer.generator.latent_dim == 4
    widget.step_button.click()
    assert ex.steps_done == 1


def test_a_diverged_run_is_reported_not_raised(widget, monkeypatch):
    ex = widget.explorer

    def diverge(steps, **kwargs):
        raise FloatingPointError("training diverged at step 1: d_loss=nan, g_loss=nan")

    monkeypatch.setattr(ex.trainer, "train", diverge)
    widget.run_button.click()  # must not raise in the kernel's callback
    assert "Training stopped" in widget.status.value and "diverged" in widget.status.value
    widget.reset_button.click()
    assert ex.error is None and "Training stopped" not in widget.status.value


def test_explorer_function_and_argument_checks():
    pytest.importorskip("ipywidgets")
    w = E.explorer(distribution="circles", hidden=(8,), n_points=16, batch_size=8)
    assert isinstance(w, E.ExplorerWidget) and w.distribution.value == "circles"
    with pytest.raises(ValueError, match="either an Explorer or settings"):
        E.ExplorerWidget(small(), loss="hinge")
    with pytest.raises(ValueError, match="redraw_every"):
        E.ExplorerWidget(small(), redraw_every=0)
