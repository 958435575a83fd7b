"""The learners' copy of the programming exercise: up to date, without solutions, ready to fill in."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import checks

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_unsolved.py"
COLAB_UNSOLVED = ("https://colab.research.google.com/github/gancourse/gancourse/blob/main/"
                  "exercises/10_exercise_unsolved.ipynb")


def _load_script():
    spec = importlib.util.spec_from_file_location("make_unsolved", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


make_unsolved = _load_script()


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


@pytest.fixture(scope="module")
def solved():
    return nbformat.read(ROOT / make_unsolved.SOLVED, as_version=4)


@pytest.fixture(scope="module")
def unsolved():
    return nbformat.read(ROOT / make_unsolved.UNSOLVED, as_version=4)


def test_committed_unsolved_copy_is_up_to_date():
    committed = (ROOT / make_unsolved.UNSOLVED).read_text(encoding="utf-8")
    assert committed == make_unsolved.unsolved_text(ROOT), (
        "exercises/10_exercise_unsolved.ipynb is out of date: run python scripts/make_unsolved.py"
    )


def test_check_mode_reports_a_stale_copy(tmp_path, capsys):
    for rel in (make_unsolved.SOLVED, make_unsolved.UNSOLVED):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    assert make_unsolved.main(["--check", "--root", str(tmp_path)]) == 0
    nb = nbformat.read(tmp_path / make_unsolved.SOLVED, as_version=4)
    nb.cells[1].source += "\n\nOne more sentence."
    nbformat.write(nb, tmp_path / make_unsolved.SOLVED)
    assert make_unsolved.main(["--check", "--root", str(tmp_path)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert make_unsolved.main(["--root", str(tmp_path)]) == 0
    assert make_unsolved.main(["--check", "--root", str(tmp_path)]) == 0


def test_unsolved_copy_has_no_solution_and_keeps_everything_else(solved, unsolved):
    assert not [c for c in unsolved.cells if "solution" in _tags(c)]
    kept = [c for c in solved.cells if "solution" not in _tags(c)]
    assert [c.source for c in unsolved.cells] == [c.source for c in kept]
    assert not any(c.get("outputs") for c in unsolved.cells if c.cell_type == "code")


def test_unsolved_copy_starts_with_the_colab_install_cell(solved, unsolved):
    first = unsolved.cells[0]
    assert first.cell_type == "code" and first.source == solved.cells[0].source
    assert 'if "google.colab" in sys.modules:' in first.source and "%pip install" in first.source


def test_every_solution_follows_a_skeleton_with_the_same_names(solved):
    cells = solved.cells
    visible = [i for i, c in enumerate(cells) if "solution" in _tags(c) and "remove-cell" not in _tags(c)]
    assert len(visible) == 6, "one solution per step: D, G, losses, D step, G step, loop"
    for i in visible:
        skeleton = cells[i - 1]
        assert "exercise" in _tags(skeleton), f"cell {i}: a solution must follow its skeleton (tag 'exercise')"
        assert "hide-input" in _tags(cells[i]), f"cell {i}: solutions are folded away in the book (hide-input)"
        defined = set(re.findall(r"^(?:def|class) (\w+)", cells[i].source, flags=re.M))
        assert defined == set(re.findall(r"^(?:def|class) (\w+)", skeleton.source, flags=re.M))
        assert "raise NotImplementedError" in skeleton.source
        following = cells[i + 1 : i + 3]
        assert any("checks.check_" in c.source for c in following if c.cell_type == "code"), (
            f"cell {i}: a check cell must come right after the solution"
        )


def test_solved_notebook_links_to_the_unsolved_copy_in_colab(solved):
    assert any(COLAB_UNSOLVED in c.source for c in solved.cells if c.cell_type == "markdown")


def _skeletons(nb) -> dict:
    namespace = {"torch": torch, "nn": nn, "F": F}
    for cell in nb.cells:
        if "exercise" in _tags(cell):
            exec(compile(cell.source, "<skeleton>", "exec"), namespace)
    return namespace


def test_unfilled_skeletons_get_a_helpful_message_from_their_checks(unsolved, capsys):
    ns = _skeletons(unsolved)
    with pytest.raises(checks.CheckFailed, match="no trainable parameters"):
        checks.check_discriminator(ns["Discriminator"]())
    with pytest.raises(checks.CheckFailed, match="no trainable parameters"):
        checks.check_generator(ns["Generator"](ns["latent_dim"]), ns["latent_dim"])
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        checks.check_losses(ns["d_loss"], ns["g_loss"])
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        checks.check_discriminator_step(ns["discriminator_step"])
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        checks.check_generator_step(ns["generator_step"])
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        checks.check_training_loop(ns["train_gan"])
    assert "NotImplementedError" in capsys.readouterr().out
