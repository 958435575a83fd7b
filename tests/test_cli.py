"""The command line: recipes, checkpoints, resume, sample pictures, and clear errors."""

import json
import subprocess
import sys

import pytest
import torch

from gancourse import cli

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def run(*argv):
    return cli.main([str(a) for a in argv])


def test_recipes_are_listed(capsys):
    assert run("recipes") == 0
    listed = capsys.readouterr().out
    for name in ("ring", "grid", "digits", "mnist-dcgan", "conditional"):
        assert name in listed


def test_train_writes_checkpoints_pictures_and_a_summary(tmp_path, capsys):
    out = tmp_path / "run"
    assert run("train", "--recipe", "digits", "--steps", 4, "--checkpoint-every", 2, "--batch-size", 8,
               "--out", out, "--no-progress") == 0
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.csv", "run.json",
                                                     "samples_step000002.png", "samples_step000004.png"]
    assert (out / "samples_step000004.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["step"] == 4 and state["config"]["batch_size"] == 8
    summary = json.loads((out / "run.json").read_text())
    assert summary["recipe"] == "digits" and summary["status"] == "finished" and summary["steps"] == 4
    assert "trained 4 steps" in capsys.readouterr().out


def test_resume_continues_exactly_where_the_run_stopped(tmp_path):
    common = ("--recipe", "digits", "--batch-size", 8, "--checkpoint-every", 100, "--no-progress")
    assert run("train", *common, "--steps", 6, "--out", tmp_path / "straight") == 0
    assert run("train", *common, "--steps", 4, "--out", tmp_path / "split") == 0
    assert run("train", *common, "--steps", 6, "--out", tmp_path / "split", "--resume") == 0
    straight = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)
    split = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=True)
    assert split["step"] == 6
    for key, value in straight["generator"].items():
        assert torch.equal(value, split["generator"][key]), key
    assert straight["history"] == split["history"]


def test_train_follows_the_recipes_learning_rate_schedule(tmp_path):
    """The ring recipe decays both rates at 50% and 75% of the run: here at steps 2 and 3 of 4."""
    assert run("train", "--recipe", "ring", "--steps", 4, "--batch-size", 8, "--out", tmp_path / "ring",
               "--no-progress") == 0
    state = torch.load(tmp_path / "ring" / "checkpoint.pt", weights_only=True)
    for key, base in (("opt_g", state["config"]["lr_g"]), ("opt_d", state["config"]["lr_d"])):
        assert state[key]["param_groups"][0]["lr"] == pytest.approx(base * 0.01)
    # resumed towards a longer run, the schedule stretches over the new total and ends at a hundredth again
    assert run("train", "--recipe", "ring", "--steps", 16, "--batch-size", 8, "--out", tmp_path / "ring",
               "--resume", "--no-progress", "--checkpoint-every", 100) == 0
    state = torch.load(tmp_path / "ring" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 16 and state["opt_d"]["param_groups"][0]["lr"] == pytest.approx(1e-3 * 0.01)


def test_fast_picks_the_speed_paths(tmp_path):
    assert run("train", "--recipe", "digits", "--steps", 1, "--batch-size", 4, "--fast", "--out", tmp_path,
               "--no-progress") == 0
    summary = json.loads((tmp_path / "run.json").read_text())
    assert summary["config"]["channels_last"] is True and summary["config"]["fused_optimizer"] is True
    from gancourse.train import bf16_supported

    assert summary["precision"] == ("bf16" if bf16_supported("cpu") else "fp32")


@pytest.mark.parametrize("argv, message", [
    (["train", "--recipe", "cifar"], "invalid choice: 'cifar'"),
    (["train", "--recipe", "ring", "--steps", "0"], "expected a positive whole number, got 0"),
    (["train", "--recipe", "ring", "--steps", "many"], "expected a positive whole number, got 'many'"),
    (["train", "--recipe", "ring", "--precision", "fp8"], "invalid choice: 'fp8'"),
    (["train"], "the following arguments are required: --recipe"),
    (["fit", "--recipe", "ring"], "invalid choice: 'fit'"),
])
def test_bad_options_get_clear_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_resume_and_overwrite_mistakes_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run("train", "--recipe", "digits", "--out", tmp_path / "none", "--resume")
    assert "there is no checkpoint" in capsys.readouterr().err
    assert run("train", "--recipe", "digits", "--steps", 1, "--batch-size", 4, "--out", tmp_path / "a",
               "--no-progress") == 0
    with pytest.raises(SystemExit):
        run("train", "--recipe", "digits", "--steps", 2, "--out", tmp_path / "a")
    assert "already exists: pass --resume" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run("train", "--recipe", "ring", "--out", tmp_path / "a", "--resume")
    assert "holds a run of recipe 'digits', not 'ring'" in capsys.readouterr().err


def test_python_dash_m_gancourse(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gancourse", "recipes"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "mnist-dcgan" in done.stdout
    done = subprocess.run([sys.executable, "-m", "gancourse", "train", "--recipe", "nope"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "invalid choice: 'nope'" in done.stderr
