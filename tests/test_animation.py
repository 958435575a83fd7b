"""Animations and 1-D density pictures: they record what they should and draw without a display."""

import gc
import warnings

import matplotlib.pyplot as plt
import pytest
import torch

from gancourse import animation as A
from gancourse.data import gaussian_mixture_1d
from gancourse.explorer import Explorer
from gancourse.models import MLPDiscriminator, MLPGenerator
from gancourse.train import GANTrainer, TrainConfig

DATA = gaussian_mixture_1d([2.0], [0.5])

# Some tests keep only an animation's recorded frames and never render it, which matplotlib warns about.
pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")


def teardown_function():
    gc.collect()  # collect unrendered animations here, under this module's warning filter (figures: conftest)


def trainer_1d(latent_dim=1, loss="nonsaturating", noise="uniform") -> GANTrainer:
    torch.manual_seed(0)
    cfg = TrainConfig(latent_dim=latent_dim, batch_size=16, loss=loss, noise=noise, seed=0, log_every=5)
    g, d = MLPGenerator(latent_dim, 1, hidden=(8,)), MLPDiscriminator(1, hidden=(8,))
    return GANTrainer(g, d, DATA, cfg, device="cpu")


# ------------------------------------------------------------------ Figure 1 in 1-D


def test_snapshot_records_the_gan_without_touching_its_random_numbers():
    trainer = trainer_1d()
    rng_before = trainer.rng.get_state()
    snap = A.snapshot_1d(trainer, DATA, torch.linspace(-1, 4, 50), n_samples=200, n_lines=6)
    assert torch.equal(trainer.rng.get_state(), rng_before)
    assert snap.step == 0 and snap.x.shape == snap.p_data.shape == snap.p_g.shape == snap.d.shape == (50,)
    assert snap.probability and 0 <= snap.d.min() and snap.d.max() <= 1
    assert snap.z_x.shape == (6,) and snap.z_quantile.min() > 0 and snap.z_quantile.max() < 1
    assert snap.p_data.max().item() == pytest.approx(DATA.pdf(torch.tensor([[2.0]])).item(), rel=0.02)
    # no z lines for noise of more than one dimension; a sampler instead of a density works too
    snap2 = A.snapshot_1d(trainer_1d(latent_dim=2), lambda n, g: DATA(n, g), torch.linspace(-1, 4, 20), n_samples=100)
    assert snap2.z_x is None and snap2.p_data.shape == (20,)


def test_snapshot_refuses_a_2d_generator():
    cfg = TrainConfig(latent_dim=2, batch_size=8)
    trainer = GANTrainer(MLPGenerator(2, 2, hidden=(4,)), MLPDiscriminator(2, hidden=(4,)), DATA, cfg, device="cpu")
    with pytest.raises(ValueError, match="1-D samples"):
        A.snapshot_1d(trainer, DATA, torch.linspace(0, 1, 5), n_samples=10)


def test_plot_snapshot_draws_the_three_curves_and_the_mapping():
    snap = A.snapshot_1d(trainer_1d(), DATA, torch.linspace(-1, 4, 40), n_samples=100, n_lines=5)
    fig, (ax, ax_map) = plt.subplots(2, 1)
    A.plot_snapshot_1d(snap, ax, ax_map, title="t")
    labels = [line.get_label() for line in ax.get_lines()]
    assert {"data density", "generator density", "discriminator D(x)"} <= set(labels)
    assert ax.get_title() == "t" and ax_map.get_xlabel() == "x"
    assert len(ax_map.texts) == 5  # one arrow per noise value
    # scores of a critic are rescaled to [0, 1] for the picture
    critic = A.snapshot_1d(trainer_1d(loss="wasserstein"), DATA, torch.linspace(-1, 4, 40), n_samples=100)
    ax2 = A.plot_snapshot_1d(critic, plt.subplots()[1])
    curve = [line for line in ax2.get_lines() if line.get_label() == "critic score (rescaled)"][0]
    assert min(curve.get_ydata()) == pytest.approx(0) and max(curve.get_ydata()) == pytest.approx(1)


def test_figure1_animation_trains_and_renders():
    trainer = trainer_1d()
    anim = A.figure1_animation(trainer, DATA, steps=6, frames=3, n_samples=100, dpi=30)
    assert trainer.step == 6
    assert [s.step for s in anim.snapshots] == [0, 3, 6]
    h = trainer.history  # D's accuracy so far is the history's d_acc, the mean of its two accuracies
    assert anim.snapshots[-1].accuracy == h["d_acc"]
    assert h["d_acc"] == pytest.approx([(a + b) / 2 for a, b in zip(h["d_acc_real"], h["d_acc_fake"])])
    assert len(anim.snapshots[-1].accuracy) == 6
    assert plt.get_fignums() == []  # closed: no extra static figure in a notebook
    html = anim.to_jshtml()
    assert html.count("data:image/png;base64") == 3
    # it continues from where the trainer is
    anim2 = A.figure1_animation(trainer, DATA, steps=4, frames=2, x_range=(-1, 4), n_samples=50, accuracy=False)
    assert [s.step for s in anim2.snapshots] == [6, 10] and anim2.snapshots[0].x[0].item() == -1


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 0, "frames": 2}, "steps must be a positive int"),
    ({"steps": 4, "frames": 1}, "frames must be an int from 2"),
    ({"steps": 4, "frames": 101}, "frames must be an int from 2"),
    ({"steps": 4, "frames": 2, "x_range": (1, 1)}, "x_range"),
])
def test_figure1_animation_argument_checks(kwargs, message):
    with pytest.raises(ValueError, match=message):
        A.figure1_animation(trainer_1d(), DATA, **kwargs)


# ------------------------------------------------------------------ the explorer's animation


def test_explorer_animation_records_views_and_renders_cleanly():
    anim = A.explorer_animation("ring", steps=4, frames=2, hidden=(8,), n_points=16, batch_size=8, dpi=30,
                                resolution=8)
    assert [v.step for v in anim.views] == [0, 4] and anim.explorer.steps_done == 4
    assert plt.get_fignums() == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a colour bar added to the wrong figure
        html = anim.to_jshtml()
    assert html.count("data:image/png;base64") == 2
    assert plt.get_fignums() == []  # drawing the frames opened no stray figure


def test_explorer_animation_continues_an_explorer():
    ex = Explorer(distribution="moons", hidden=(8,), n_points=16, batch_size=8)
    ex.step(2)
    anim = A.explorer_animation(ex, steps=2, frames=2)
    assert anim.explorer is ex and ex.steps_done == 4 and [v.step for v in anim.views] == [2, 4]
    with pytest.raises(ValueError, match="give no loss or settings"):
        A.explorer_animation(ex, steps=2, frames=2, d_steps=3)


def test_animation_html_gives_the_frame_image_its_alt_text():
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    from gancourse.animation import animation_html

    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 1])
    anim = FuncAnimation(fig, lambda i: (line,), frames=2)
    page = animation_html(anim, 'Points move "up" the slope.').data
    plt.close(fig)
    assert '<img alt="Points move &quot;up&quot; the slope." id="_anim_img' in page
    with pytest.raises(ValueError, match="alt must be"):
        animation_html(anim, "  ")
