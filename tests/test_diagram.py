"""The GAN diagram draws every part of the system, and each training step's gradient path."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from gancourse import diagram  # noqa: E402


def teardown_function():
    plt.close("all")


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
