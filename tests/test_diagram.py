"""The GAN diagram draws every part of the system, and each training step's gradient path."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from gancourse import diagram
from gancourse.plot import FAKE_COLOR, REAL_COLOR


def _arrows(ax):
    """(solid, dashed) arrow counts on the axis."""
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    dashed = [a for a in arrows if a.get_linestyle() not in ("-", "solid")]
    return len(arrows) - len(dashed), len(dashed)


def _box(ax, name):
    (patch,) = [p for p in ax.patches if isinstance(p, FancyBboxPatch) and p.get_gid() == name]
    return patch


def test_whole_system_has_every_box_and_both_gradient_paths():
    ax = diagram.gan_diagram()
    texts = " ".join(t.get_text() for t in ax.texts)
    for word in ("noise", "Generator", "Discriminator", "Real data", "Verdict", "loss"):
        assert word in texts
    assert {p.get_gid() for p in ax.patches if isinstance(p, FancyBboxPatch)} == set(diagram.BOXES)
    solid, dashed = _arrows(ax)
    assert solid == len(diagram.FORWARD)
    assert dashed == sum(len(path) - 1 for path in diagram.GRADIENT_PATHS.values())
    assert "gradients" in ax.get_title()


def test_forward_arrows_take_the_colour_of_the_data_they_carry():
    ax = diagram.gan_diagram(legend=False)
    solid = [p for p in ax.patches if isinstance(p, FancyArrowPatch) and p.get_linestyle() in ("-", "solid")]
    colours = [p.get_edgecolor() for p in solid]  # one per forward arrow, in the order of FORWARD
    expected = {"noise": FAKE_COLOR, "generator": FAKE_COLOR, "fake_sample": FAKE_COLOR, "real_data": REAL_COLOR,
                "real_sample": REAL_COLOR, "discriminator": "black", "verdict": "black"}
    assert colours == [to_rgba(expected[a]) for a, _ in diagram.FORWARD]


def test_generator_step_passes_through_discriminator_into_generator():
    path = diagram.GRADIENT_PATHS["generator_step"]
    assert path[0] == "g_loss" and path[-1] == "generator" and "discriminator" in path
    ax = diagram.gan_diagram(highlight="generator_step")
    assert _arrows(ax)[1] == len(path) - 1
    assert _box(ax, "discriminator").get_hatch() == "///"  # D is frozen
    assert _box(ax, "generator").get_hatch() is None and _box(ax, "generator").get_linewidth() > 3
    assert any("frozen" in t.get_text() for t in ax.texts)


def test_discriminator_step_stops_at_discriminator():
    path = diagram.GRADIENT_PATHS["discriminator_step"]
    assert path[0] == "d_loss" and path[-1] == "discriminator" and "generator" not in path
    ax = diagram.gan_diagram(highlight="discriminator_step", title=None, legend=False)
    assert _arrows(ax)[1] == len(path) - 1
    assert _box(ax, "generator").get_hatch() == "///"  # G is frozen
    assert ax.get_title() == "" and ax.get_legend() is None


def test_draws_on_a_given_axis_and_rejects_unknown_highlight():
    fig, ax = plt.subplots()
    assert diagram.gan_diagram(ax=ax) is ax
    with pytest.raises(ValueError, match="highlight"):
        diagram.gan_diagram(highlight="both_steps")


def test_layer_shapes_follow_a_dcgan_generator_and_leave_it_unchanged():
    import torch

    from gancourse.models import DCGANGenerator

    generator = DCGANGenerator(latent_dim=8, image_size=28, width=4)
    generator.train()
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    rows = diagram.layer_shapes(generator, torch.randn(3, 8))
    assert rows[0].kind == "input" and rows[0].shape == (8, 1, 1)
    assert [r.kind for r in rows[1:]] == [type(m).__name__ for m in generator.net]
    assert [r.shape for r in rows if r.kind == "ConvTranspose2d"] == [(8, 7, 7), (4, 14, 14), (1, 28, 28)]
    assert rows[-1].kind == "Tanh" and rows[-1].shape == (1, 28, 28)
    assert sum(r.parameters for r in rows) == sum(p.numel() for p in generator.parameters())
    # no side effects: running statistics untouched, training flags restored, hooks removed
    assert all(torch.equal(before[k], v) for k, v in generator.state_dict().items())
    assert all(m.training for m in generator.modules())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in generator.modules())


def test_layer_table_lists_the_discriminator_down_to_one_logit():
    import torch

    from gancourse.models import DCGANDiscriminator

    discriminator = DCGANDiscriminator(image_size=28, width=4).eval()
    rows = diagram.layer_shapes(discriminator, torch.randn(2, 1, 28, 28))
    assert rows[0].shape == (1, 28, 28) and rows[-2].shape == (1, 1, 1)
    assert rows[-1].kind == "output" and rows[-1].shape == ()  # forward() flattens to (N,)
    assert not any(m.training for m in discriminator.modules())
    table = diagram.layer_table(discriminator, torch.randn(2, 1, 28, 28))
    lines = table.splitlines()
    assert lines[0].startswith("| # | layer") and len(lines) == len(rows) + 2
    assert "4 × 14 × 14" in table and "slope 0.2" in table and "1 number" in table


def test_layer_shapes_rejects_bad_input():
    import torch

    with pytest.raises(TypeError, match="torch.nn.Module"):
        diagram.layer_shapes(lambda x: x, torch.randn(2, 3))
    with pytest.raises(TypeError, match="batch tensor"):
        diagram.layer_shapes(torch.nn.Linear(3, 2), [1.0, 2.0, 3.0])
