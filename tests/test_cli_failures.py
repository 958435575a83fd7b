"""The command line when things go wrong: nothing lost, nothing half-done, a clear message and exit code.

- ``--resume`` refuses a checkpoint written with another recipe, seed, batch size or data set, and an
  empty, corrupt or missing checkpoint, with one line naming the option or the file (exit code 2);
- Ctrl-C (SIGINT, or SIGTERM from a scheduler) lets the step under way finish, writes a final checkpoint
  and marks ``run.json`` "interrupted" (exit code 128 + the signal's number);
- a divergence marks ``run.json`` "diverged" with its step and never overwrites the last good
  checkpoint; any other failure marks it "failed" (exit code 1); no run is left "running";
- usage errors (an unavailable ``--device``, a ``--seed`` out of range, an ``--out`` that cannot be a
  folder) stop before any work with exit code 2 and a message naming the option;
- ``history.csv`` is written next to each checkpoint.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from gancourse import cli, data
from gancourse.train import GANTrainer

DIGITS = ("--recipe", "digits", "--batch-size", 8, "--no-progress")


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def run(*argv):
    try:
        return cli.main([str(a) for a in argv])
    except KeyboardInterrupt:  # must never escape: the command line turns it into a status and an exit code
        pytest.fail("KeyboardInterrupt escaped from cli.main")


def usage_error(capsys, *argv) -> str:
    """Run a command that must stop with a usage error (exit code 2); return what it printed on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        run(*argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def record(out):
    return json.loads((out / "run.json").read_text())


def saved(out):
    return torch.load(out / "checkpoint.pt", weights_only=True)


# -- resuming: the checkpoint must be the one this command describes ---------------------------------------


@pytest.mark.parametrize("content, why", [(b"", "the file is empty (0 bytes)"),
                                          (b"not a checkpoint\n", "it is a text file"),
                                          (b"PK\x03\x04" + b"\x00" * 40, "damaged or cut short")])
def test_an_empty_or_corrupt_checkpoint_is_one_line_and_exit_code_2(tmp_path, capsys, content, why):
    out = tmp_path / "run"
    assert run("train", *DIGITS, "--steps", 2, "--out", out) == 0
    before = record(out)
    (out / "checkpoint.pt").write_bytes(content)
    capsys.readouterr()
    assert run("train", *DIGITS, "--steps", 4, "--out", out, "--resume") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --resume: ") and why in err
    assert str(out / "checkpoint.pt") in err and "Traceback" not in err
    assert (out / "checkpoint.pt").read_bytes() == content and record(out) == before  # nothing touched


def test_a_corrupt_checkpoint_from_a_terminal_is_one_line_and_exit_code_2(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"")
    done = subprocess.run([sys.executable, "-m", "gancourse", "train", "--recipe", "digits", "--out", str(tmp_path),
                           "--resume", "--no-progress"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip().count("\n") == 0
    assert "the file is empty" in done.stderr


def test_resume_refuses_another_seed_or_batch_size_and_names_the_option(tmp_path, capsys):
    out = tmp_path / "run"
    assert run("train", *DIGITS, "--steps", 2, "--seed", 3, "--out", out) == 0
    kept = (out / "checkpoint.pt").read_bytes()
    err = usage_error(capsys, "train", *DIGITS, "--steps", 4, "--seed", 1, "--out", out, "--resume")
    assert f"--resume: the checkpoint in {out} was written by recipe 'digits' with --seed 3" in err
    assert "this command asks for --seed 1" in err
    err = usage_error(capsys, "train", "--recipe", "digits", "--batch-size", 16, "--steps", 4, "--seed", 3,
                      "--out", out, "--resume")
    assert "with --batch-size 8, this command asks for --batch-size 16" in err
    assert (out / "checkpoint.pt").read_bytes() == kept and record(out)["status"] == "finished"


def test_resume_without_seed_or_batch_size_continues_with_the_checkpoints(tmp_path):
    out = tmp_path / "run"
    assert run("train", *DIGITS, "--steps", 2, "--seed", 3, "--out", out) == 0
    assert run("train", "--recipe", "digits", "--no-progress", "--steps", 4, "--out", out, "--resume") == 0
    state = saved(out)
    assert state["step"] == 4 and state["config"]["seed"] == 3 and state["config"]["batch_size"] == 8


def test_resume_refuses_another_recipe_even_without_run_json(tmp_path, capsys):
    """The ring and the grid train networks of the same shapes: only the recipe's name tells them apart."""
    out = tmp_path / "ring"
    assert run("train", "--recipe", "ring", "--batch-size", 8, "--steps", 2, "--out", out, "--no-progress") == 0
    (out / "run.json").unlink()
    err = usage_error(capsys, "train", "--recipe", "grid", "--batch-size", 8, "--steps", 4, "--out", out, "--resume",
                      "--no-progress")
    assert "holds a run of recipe 'ring', not 'grid'" in err
    assert saved(out)["step"] == 2 and not (out / "run.json").exists()


def test_resume_refuses_a_checkpoint_trained_on_other_data(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert run("train", *DIGITS, "--steps", 2, "--out", out) == 0
    images, labels = data.sklearn_digits()
    monkeypatch.setattr(data, "sklearn_digits", lambda: (images.flip(-1), labels))  # the data set changed
    err = usage_error(capsys, "train", *DIGITS, "--steps", 4, "--out", out, "--resume")
    assert "was trained on other data than recipe 'digits' loads now" in err
    assert saved(out)["step"] == 2


def test_resume_refuses_steps_below_the_checkpoints(tmp_path, capsys):
    out = tmp_path / "run"
    assert run("train", *DIGITS, "--steps", 4, "--out", out) == 0
    err = usage_error(capsys, "train", *DIGITS, "--steps", 2, "--out", out, "--resume")
    assert "--steps 2: the checkpoint in" in err and "is already at step 4" in err
    assert run("train", *DIGITS, "--steps", 4, "--out", out, "--resume") == 0  # the same total: nothing to do


def test_resume_keeps_the_record_of_the_earlier_runs(tmp_path):
    out = tmp_path / "run"
    assert run("train", *DIGITS, "--steps", 2, "--out", out) == 0
    assert run("train", *DIGITS, "--steps", 4, "--out", out, "--resume") == 0
    summary = record(out)
    assert summary["status"] == "finished" and summary["steps"] == 4 and summary["steps_this_run"] == 2
    assert [(r["status"], r["steps"]) for r in summary["earlier"]] == [("finished", 2)]


# -- interrupting: the step under way finishes, then a final checkpoint --------------------------------------


@pytest.fixture(autouse=True)
def ctrl_c_raises():
    """Ctrl-C as in a terminal, even when the tests run as a background job (where SIGINT is ignored)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def interrupt_during_step(monkeypatch, step: int, signum: int = signal.SIGINT) -> None:
    """Send ``signum`` to this process in the middle of step ``step`` (after D's update, before G's)."""
    original = GANTrainer.generator_step

    def generator_step(self):
        if self.step + 1 == step:
            os.kill(os.getpid(), signum)
        return original(self)

    monkeypatch.setattr(GANTrainer, "generator_step", generator_step)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="os.kill sends POSIX signals")
def test_ctrl_c_finishes_the_step_writes_a_checkpoint_and_resumes_exactly(tmp_path, capsys, monkeypatch):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert run("train", *DIGITS, "--steps", 6, "--checkpoint-every", 100, "--out", straight) == 0
    before = signal.getsignal(signal.SIGINT)
    with monkeypatch.context() as patch:
        interrupt_during_step(patch, 3)
        assert run("train", *DIGITS, "--steps", 6, "--checkpoint-every", 100, "--out", split) == 130
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back
    err = capsys.readouterr().err
    assert "interrupted (SIGINT) after step 3" in err and "--resume" in err
    summary = record(split)
    assert summary["status"] == "interrupted" and summary["signal"] == "SIGINT" and summary["steps"] == 3
    assert saved(split)["step"] == 3 and (split / "samples_step000003.png").exists()
    assert len(list(csv.DictReader((split / "history.csv").open()))) == 3
    assert run("train", *DIGITS, "--steps", 6, "--checkpoint-every", 100, "--out", split, "--resume") == 0
    a, b = saved(straight), saved(split)
    assert a["history"] == b["history"]
    for key, value in a["generator"].items():
        assert torch.equal(value, b["generator"][key]), key


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="os.kill sends POSIX signals")
def test_sigterm_is_an_interruption_too(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    interrupt_during_step(monkeypatch, 2, signal.SIGTERM)
    assert run("train", *DIGITS, "--steps", 6, "--out", out) == 128 + signal.SIGTERM
    assert record(out)["status"] == "interrupted" and record(out)["signal"] == "SIGTERM"
    assert saved(out)["step"] == 2


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_ctrl_c_in_a_terminal(tmp_path):
    """The real thing: SIGINT to a training ``python -m gancourse`` while it trains."""
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "gancourse", "train", *map(str, DIGITS), "--steps", "1000000",
                                "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        while not ((out / "run.json").exists() and record(out)["status"] == "running"):  # training has begun
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted (SIGINT) after step" in stderr
    assert record(out)["status"] == "interrupted" and saved(out)["step"] == record(out)["steps"] > 0


def test_an_interruption_inside_a_step_keeps_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    """A KeyboardInterrupt that breaks a step off (a second Ctrl-C) leaves a half-done step: it is not saved."""
    out = tmp_path / "run"
    original = GANTrainer.generator_step

    def generator_step(self):
        if self.step + 1 == 3:  # D has already been updated for step 3
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(GANTrainer, "generator_step", generator_step)
    assert run("train", *DIGITS, "--steps", 6, "--checkpoint-every", 2, "--out", out) == 130
    summary = record(out)
    assert summary["status"] == "interrupted" and summary["steps"] == 2  # the steps the checkpoint holds
    assert saved(out)["step"] == 2
    assert len(list(csv.DictReader((out / "history.csv").open()))) == 2
    assert "the last checkpoint (step 2)" in capsys.readouterr().err


def test_ctrl_c_before_training_starts_leaves_the_folder_as_it_was(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert run("train", *DIGITS, "--steps", 2, "--out", out) == 0
    before = record(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "make_trainer", interrupted)
    assert run("train", *DIGITS, "--steps", 4, "--out", out, "--resume") == 130
    assert "interrupted before training started" in capsys.readouterr().err
    assert record(out) == before and saved(out)["step"] == 2


# -- failing: the last good checkpoint stays, and run.json says what happened ---------------------------------


def test_a_divergence_is_recorded_and_the_last_good_checkpoint_kept(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    original = GANTrainer.record

    def record_nan(self, stats):
        if self.step == 6:
            stats = {**stats, "d_loss": torch.tensor(float("nan"))}
        return original(self, stats)

    monkeypatch.setattr(GANTrainer, "record", record_nan)
    assert run("train", *DIGITS, "--steps", 8, "--checkpoint-every", 2, "--out", out) == 1
    summary = record(out)
    assert summary["status"] == "diverged" and summary["diverged_at_step"] == 6 and summary["steps"] == 4
    assert "training diverged at step 6" in summary["error"]
    assert saved(out)["step"] == 4  # the checkpoint of step 6 would have held the diverged weights
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5]  # every finite step, to see the run blow up
    err = capsys.readouterr().err
    assert "error: training diverged at step 6" in err and f"the last checkpoint (step 4) is {out}" in err


def test_weights_that_are_not_finite_are_never_saved(tmp_path, monkeypatch):
    out = tmp_path / "run"
    original = GANTrainer.generator_step

    def generator_step(self):
        stats = original(self)
        if self.step + 1 == 4:  # the update of step 4 leaves NaN weights; its losses were still finite
            with torch.no_grad():
                next(self.generator.parameters()).fill_(float("nan"))
        return stats

    monkeypatch.setattr(GANTrainer, "generator_step", generator_step)
    assert run("train", *DIGITS, "--steps", 8, "--checkpoint-every", 2, "--out", out) == 1
    summary = record(out)
    assert summary["status"] == "diverged" and summary["diverged_at_step"] == 4
    state = saved(out)
    assert state["step"] == 2 and all(torch.isfinite(v).all() for v in state["generator"].values())


def test_any_other_failure_is_recorded_with_exit_code_1(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    original = GANTrainer.train_step

    def train_step(self):
        if self.step == 3:
            raise RuntimeError("CUDA out of memory (simulated)")
        return original(self)

    monkeypatch.setattr(GANTrainer, "train_step", train_step)
    assert run("train", *DIGITS, "--steps", 8, "--checkpoint-every", 2, "--out", out) == 1
    summary = record(out)
    assert summary["status"] == "failed" and summary["steps"] == 2
    assert summary["error"] == "RuntimeError: CUDA out of memory (simulated)"
    assert saved(out)["step"] == 2
    err = capsys.readouterr().err
    assert err.rstrip().splitlines()[-1].startswith("error: the run failed after step 3: RuntimeError: CUDA out")


# -- usage errors: before any work ------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_device_cuda_without_a_gpu_is_a_usage_error(tmp_path, capsys):
    err = usage_error(capsys, "train", *DIGITS, "--device", "cuda", "--out", tmp_path / "run")
    assert "--device cuda: PyTorch sees no CUDA GPU here" in err and not (tmp_path / "run").exists()


def test_device_mps_without_mps_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    err = usage_error(capsys, "train", *DIGITS, "--device", "mps", "--out", tmp_path / "run")
    assert "--device mps: Apple's MPS is not available here" in err and not (tmp_path / "run").exists()


@pytest.mark.parametrize("seed", ["-1", str(2**63), "99999999999999999999999", "1.5", "one"])
def test_seed_is_range_checked(tmp_path, capsys, seed):
    err = usage_error(capsys, "train", *DIGITS, "--seed", seed, "--out", tmp_path / "run")
    assert "argument --seed: expected a whole number from 0 to 2**63 - 1" in err and repr(seed) in err
    assert not (tmp_path / "run").exists()


def test_an_out_folder_that_cannot_be_made_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    err = usage_error(capsys, "train", *DIGITS, "--steps", 1, "--out", tmp_path / "file" / "run")
    assert f"--out {tmp_path / 'file' / 'run'}: cannot make that folder" in err


# -- the history as CSV ---------------------------------------------------------------------------------


def test_history_csv_is_written_next_to_each_checkpoint(tmp_path):
    out = tmp_path / "run"
    assert run("train", *DIGITS, "--steps", 4, "--checkpoint-every", 2, "--out", out) == 0
    history = saved(out)["history"]
    with (out / "history.csv").open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    assert header == ["step", *(k for k in history if k != "step")]
    assert [int(r[0]) for r in rows] == history["step"] == [1, 2, 3, 4]
    for i, key in enumerate(header[1:], start=1):
        assert [float(r[i]) for r in rows] == history[key], key  # every digit of every number
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_a_signal_the_caller_ignores_stays_ignored(tmp_path, monkeypatch):
    """Under nohup (or in a background job) SIGINT is ignored: a run neither installs its handler nor
    puts Python's default back afterwards."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    during = []
    original = GANTrainer.generator_step

    def generator_step(self):
        during.append(signal.getsignal(signal.SIGINT))
        return original(self)

    monkeypatch.setattr(GANTrainer, "generator_step", generator_step)
    assert run("train", *DIGITS, "--steps", 2, "--out", tmp_path / "bg") == 0
    assert during and all(handler is signal.SIG_IGN for handler in during)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
