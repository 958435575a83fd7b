"""The command line: train one of the course's GANs from a terminal, alone or under ``torchrun``.

::

    python -m gancourse recipes                                    # what can be trained
    python -m gancourse train --recipe ring --out runs/ring        # the 2-D ring of 8 Gaussians
    python -m gancourse train --recipe mnist-dcgan --fast --out runs/dcgan
    python -m gancourse train --recipe mnist-dcgan --out runs/dcgan --resume --steps 8000
    torchrun --nproc_per_node=2 -m gancourse train --recipe mnist-dcgan --out runs/dcgan

A **recipe** is a model, a data set, a :class:`~gancourse.train_config.TrainConfig` and a learning-rate
schedule that the course uses (``ring``, ``grid``, ``digits``, ``mnist-dcgan``, ``conditional``); they
live in :mod:`gancourse.recipes`, whose :func:`~gancourse.recipes.make_trainer` builds their
:class:`~gancourse.train.GANTrainer`, so notebooks and benchmarks train exactly what the command line
trains. A run writes into ``--out``:

- ``checkpoint.pt``: the whole training state every ``--checkpoint-every`` steps and at the end,
  written atomically by :mod:`gancourse.checkpoint`, with the recipe's name, the run's length and a
  fingerprint of its data; weights that hold NaN or infinite values are never saved;
- ``history.csv``: the losses and accuracies, one row per step, rewritten with each checkpoint;
- ``samples_stepNNNNNN.png``: a picture of the generator's output at each checkpoint (a grid of
  digits, or generated points over real ones);
- ``run.json``: the recipe, the options, the device, the number of processes, the speed and the
  **status**: ``"running"`` while it trains, then ``"finished"``, ``"interrupted"`` (Ctrl-C or
  SIGTERM), ``"diverged"`` (with the step) or ``"failed"`` (with the error); ``steps`` is the number of
  steps the checkpoint holds, and a resumed run keeps the records of the earlier ones in ``earlier``.

``--resume`` continues from the checkpoint, up to ``--steps``; it refuses a checkpoint of another
recipe, seed, batch size or data set, and an empty or damaged one, before anything changes. Ctrl-C
(or a scheduler's SIGTERM) lets the step under way finish, saves a final checkpoint and stops; a second
Ctrl-C stops at once and keeps the previous checkpoint. Exit codes: 0 done; 1 the run failed or
diverged; 2 a usage error (an option, ``--out`` or the checkpoint); 128 + the signal's number when
interrupted (130 for Ctrl-C).

Under torchrun every process trains (see :mod:`gancourse.distributed`) and only rank 0 writes; a
signal stops the processes at once, and the last periodic checkpoint is kept.

Explained in the chapter "Scaling up".
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import re
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Sequence

import torch

from gancourse import checkpoint
from gancourse import distributed as dist_utils
from gancourse.recipes import RECIPES, Recipe, make_trainer
from gancourse.speed import bf16_supported
from gancourse.train import GANTrainer

__all__ = ["save_samples", "build_parser", "main"]

CHECKPOINT = "checkpoint.pt"
RUN_FILE = "run.json"
HISTORY_FILE = "history.csv"


def save_samples(trainer: GANTrainer, recipe: Recipe, path: str | os.PathLike) -> Path:
    """Save a picture of the generator's output for the fixed noise batch (sampled in eval mode) as PNG.

    Images become a grid (one column per digit for the conditional recipe); 2-D points are drawn over
    as many real points.

    Explained in the chapter "Scaling up".
    """
    from matplotlib.figure import Figure  # no pyplot: works in a terminal and leaves a notebook's backend alone

    from gancourse import plot

    path = Path(path)
    fake = trainer.sample(noise=trainer.fixed_noise).float().cpu()
    if recipe.kind == "points":
        real = trainer.real(len(fake), torch.Generator(device=trainer.device).manual_seed(0)).float().cpu()
        fig = Figure(figsize=(5, 5))
        plot.scatter_2d(real, fake, ax=fig.subplots(), title=f"{recipe.name}: generated vs real, step {trainer.step}")
    else:
        nrow = 10 if recipe.name == "conditional" else 8
        fig = Figure(figsize=(0.6 * nrow + 0.6, 0.6 * math.ceil(len(fake) / nrow) + 0.8))
        plot.image_grid(fake, nrow=nrow, ax=fig.subplots(), title=f"{recipe.name}, step {trainer.step}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value}")
    return value


def _seed(text: str) -> int:
    """A seed every generator of the run accepts, also after the offsets of the ranks and of the sampling stream."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2**63 - 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m gancourse``.

    Explained in the chapter "Scaling up".
    """
    parser = argparse.ArgumentParser(prog="python -m gancourse",
                                     description="Train the GANs of the gancourse book from the command line.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,recipes}")
    commands.add_parser("recipes", help="list the recipes", description="List the recipes that train can run.")
    train = commands.add_parser(
        "train", help="train a recipe", description="Train a recipe, with checkpoints and sample pictures in --out. "
        "Under torchrun every process trains with DistributedDataParallel.")
    train.set_defaults(error=train.error)  # usage errors found after parsing print train's usage
    train.add_argument("--recipe", required=True, choices=list(RECIPES), help="what to train")
    train.add_argument("--steps", type=_positive_int, help="total number of training steps (default: the recipe's; "
                       "when resuming, the total of the run that stopped); the recipe's learning-rate schedule "
                       "stretches over them")
    train.add_argument("--out", type=Path, default=None, help="folder for the checkpoint, history, pictures and "
                       "run.json (default: runs/RECIPE)")
    train.add_argument("--checkpoint-every", type=_positive_int, default=500, metavar="N",
                       help="write a checkpoint and a picture every N steps (default 500)")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    train.add_argument("--seed", type=_seed, help="seed of the weights and of the batches, 0 to 2**63 - 1 "
                       "(default 0; when resuming, the checkpoint's)")
    train.add_argument("--batch-size", type=_positive_int, help="examples per update and process (default: the "
                       "recipe's; when resuming, the checkpoint's)")
    train.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto",
                       help="where to train (default: a GPU when there is one)")
    train.add_argument("--precision", choices=["fp32", "bf16"], default=None,
                       help="arithmetic of the forward passes (default fp32; bf16 falls back to fp32 where "
                            "unsupported)")
    train.add_argument("--channels-last", action="store_true", help="channels-last convolutions")
    train.add_argument("--fused-optimizer", action="store_true", help="one fused kernel per optimiser step")
    train.add_argument("--fast", action="store_true", help="all speed paths that help here: bf16 where the device "
                       "supports it, channels-last for image models, the fused optimiser")
    train.add_argument("--threads", type=_positive_int, help="CPU threads for PyTorch (default: PyTorch's choice)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _device_for(name: str, info: dist_utils.DistInfo) -> torch.device:
    if name == "auto" or (name == "cuda" and info.backend is not None):
        return info.device  # under torchrun: cuda:LOCAL_RANK
    return torch.device(name)


def _speed_options(args, recipe: Recipe, device: torch.device) -> dict:
    options = {}
    if args.fast:
        options["precision"] = "bf16" if bf16_supported(device) else "fp32"
        options["channels_last"] = recipe.kind == "images"
        options["fused_optimizer"] = True
    if args.precision is not None:
        options["precision"] = args.precision
    if args.channels_last:
        options["channels_last"] = True
    if args.fused_optimizer:
        options["fused_optimizer"] = True
    return options


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file in the same folder, then a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_history(history: dict[str, list], path: Path) -> None:
    """``history`` as CSV: a header of column names, then one row per step (every digit of every number)."""
    columns = ["step", *(k for k in history if k != "step")]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*(history[k] for k in columns)))
    _write_text(path, text.getvalue())


def _data_fingerprint(real) -> str | None:
    """The data a trainer draws from, in a few words and a hash, e.g. ``TensorSampler (1797, 1, 8, 8) sha256:...``."""
    tensors = [t for t in (getattr(real, name, None) for name in ("data", "labels", "means", "stds", "weights"))
               if isinstance(t, torch.Tensor)]
    if not tensors:
        return None
    digest = hashlib.sha256()
    for t in tensors:
        digest.update(f"{t.dtype} {tuple(t.shape)}".encode())
        digest.update(t.detach().cpu().contiguous().numpy().tobytes())
    return f"{type(real).__name__} {tuple(tensors[0].shape)} sha256:{digest.hexdigest()[:16]}"


def _earlier_runs(out: Path) -> list[dict]:
    """The records of the runs that wrote to ``out`` before, oldest first (a resumed run keeps them)."""
    path = out / RUN_FILE
    try:
        before = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        if not isinstance(before, dict):
            raise ValueError(f"it holds a {type(before).__name__}, not a JSON object")
    except (OSError, ValueError) as err:
        print(f"warning: {path} cannot be read ({err}); this run writes a new one", file=sys.stderr)
        before = {}
    if before.get("status") == "running":
        before["status"] = "killed"  # it ended without a final status: only SIGKILL or a power cut do that
    earlier = before.pop("earlier", [])
    return [*(earlier if isinstance(earlier, list) else []), before] if before else []


def _check_resume(args, recipe: Recipe, out: Path, state: dict, earlier: list[dict]) -> dict:
    """Refuse to continue a checkpoint of another recipe, ``--seed`` or ``--batch-size``, or past ``--steps``;
    return what the checkpoint says about its run (``{"recipe", "steps", "data"}``, empty for older ones)."""
    run = state.get("run") if isinstance(state.get("run"), dict) else {}
    config = state["config"] if isinstance(state["config"], dict) else {}
    before = run.get("recipe") or (earlier[-1].get("recipe") if earlier else None)
    if before not in (None, recipe.name):
        args.error(f"--resume: {out} holds a run of recipe {before!r}, not {recipe.name!r} (pass --recipe {before} "
                   "to continue it, or choose another --out)")
    for option, key in (("--seed", "seed"), ("--batch-size", "batch_size")):
        asked = getattr(args, key)
        if asked is not None and key in config and config[key] != asked:
            args.error(f"--resume: the checkpoint in {out} was written by recipe {recipe.name!r} with {option} "
                       f"{config[key]}, this command asks for {option} {asked} (leave {option} out to continue "
                       "with the checkpoint's)")
    step = state["step"]
    if args.steps is not None and isinstance(step, int) and args.steps < step:
        args.error(f"--steps {args.steps}: the checkpoint in {out} is already at step {step} (--steps counts all "
                   "the steps of the run: pass a larger number to train on)")
    return run


class _StopRequested(KeyboardInterrupt):
    """Raised between two steps after SIGINT or SIGTERM: the step under way has finished."""


class _Signals:
    """While a run trains, SIGINT (Ctrl-C) and SIGTERM (a scheduler's notice) stop it between two steps.

    With ``defer`` the first signal only takes note and :meth:`check` raises :class:`_StopRequested` after
    the step under way; without it (several processes, which could not agree on a last step), or at a
    second signal, ``KeyboardInterrupt`` is raised at once. After :meth:`hold`, signals are only noted, so
    the final checkpoint and record are written whole. Handlers can only be set in the main thread, and a
    signal the caller ignores (``nohup``, a background job) stays ignored.
    """

    def __init__(self, defer: bool):
        self.defer, self.signum, self.holding, self._before = defer, None, False, {}

    def __enter__(self) -> "_Signals":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(signum) is signal.SIG_IGN:  # e.g. under nohup: the caller asked to ignore it
                    continue
                self._before[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._before.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def _handle(self, signum, frame) -> None:
        first, self.signum = self.signum is None, self.signum or signum
        if not self.holding and not (first and self.defer):
            raise KeyboardInterrupt

    def check(self) -> None:
        if self.signum is not None and not self.holding:
            raise _StopRequested

    def hold(self) -> None:
        self.holding = True

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else "SIGINT"


def _train(args) -> int:
    recipe = RECIPES[args.recipe]
    out = args.out if args.out is not None else Path("runs") / recipe.name
    path, mps = out / CHECKPOINT, getattr(torch.backends, "mps", None)
    if args.device == "cuda" and not torch.cuda.is_available():
        args.error("--device cuda: PyTorch sees no CUDA GPU here (use --device cpu or auto)")
    if args.device == "mps" and not (mps is not None and mps.is_available()):
        args.error("--device mps: Apple's MPS is not available here (use --device cpu or auto)")
    if out.exists() and not out.is_dir():
        args.error(f"--out {out} is a file, not a folder")
    if args.resume and not path.is_file():
        args.error(f"--resume: there is no checkpoint at {path}")
    if not args.resume and path.exists():
        args.error(f"{path} already exists: pass --resume to continue that run, or choose another --out")
    state, saved_run, earlier = None, {}, _earlier_runs(out) if args.resume else []
    if args.resume:
        try:
            state = checkpoint.read(path, "cpu")
            checkpoint.check_keys(state, ("config", "step"), path)
        except (checkpoint.CheckpointError, OSError) as err:
            print(f"error: --resume: {err}", file=sys.stderr)
            return 2
        saved_run = _check_resume(args, recipe, out, state, earlier)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        args.error(f"--out {out}: cannot make that folder ({err.strerror or err})")
    if args.threads:
        torch.set_num_threads(args.threads)
    info = dist_utils.init_distributed(backend="gloo" if args.device == "cpu" and dist_utils.launched_by_torchrun()
                                       else None)
    try:
        return _run(args, recipe, out, info, state, saved_run, earlier)
    finally:
        dist_utils.cleanup()


def _run(args, recipe: Recipe, out: Path, info: dist_utils.DistInfo, state: dict | None, saved_run: dict,
         earlier: list[dict]) -> int:
    path, device = out / CHECKPOINT, _device_for(args.device, info)
    overrides, config = _speed_options(args, recipe, device), state["config"] if state else {}
    for key, asked in (("seed", args.seed), ("batch_size", args.batch_size)):  # when resuming: the checkpoint's
        value = asked if asked is not None else (config.get(key) if isinstance(config, dict) else None)
        if isinstance(value, int) and not isinstance(value, bool) and value >= (key == "batch_size"):
            overrides[key] = value
    try:
        trainer = make_trainer(recipe, device=device, **overrides)
    except NotImplementedError as err:  # a trainer that cannot run on several processes
        print(f"error: --recipe {recipe.name}: {err}", file=sys.stderr)
        return 2
    data = _data_fingerprint(trainer.real)
    if state is not None:
        if saved_run.get("data") not in (None, data):
            args.error(f"--resume: the checkpoint in {out} was trained on other data than recipe {recipe.name!r} "
                       f"loads now ({saved_run['data']}, now {data}): choose another --out to start afresh")
        try:
            trainer.load_state(state, path)
        except checkpoint.CheckpointError as err:
            print(f"error: --resume: {err}", file=sys.stderr)
            return 2
    planned = saved_run.get("steps")
    total = args.steps or (planned if isinstance(planned, int) and planned > 0 else recipe.steps)
    recipe.schedule.apply(trainer, total)  # the rates for the next step (also after resuming)
    schedule, first, is_main = recipe.schedule.callback(total), trainer.step, info.rank == 0
    run, saved = {"recipe": recipe.name, "steps": total, "data": data}, {"step": first if state else None}
    if is_main:
        print(f"recipe {recipe.name}: {recipe.description}")
        print(f"device {trainer.device}, {info.world_size} process(es), precision {trainer.precision}, "
              f"channels_last {trainer.config.channels_last}, fused optimizer {trainer.config.fused_optimizer}, "
              f"batch {trainer.config.batch_size} per process; steps {first} -> {total}")

    def record(outcome: dict, seconds: float = 0.0) -> None:  # run.json, written whole or not at all
        ran, history = trainer.step - first, trainer.history
        if is_main:
            _write_text(out / RUN_FILE, json.dumps({
                "recipe": recipe.name, **outcome, "steps": saved["step"], "steps_this_run": ran,
                "seconds": round(seconds, 3), "steps_per_second": round(ran / seconds, 3) if ran and seconds else None,
                "device": str(trainer.device), "processes": info.world_size, "backend": info.backend,
                "precision": trainer.precision, "config": dict(vars(trainer.config)),
                "final": {k: history[k][-1] for k in ("d_loss", "g_loss")} if history["step"] else {},
                "earlier": earlier}, indent=2, default=str) + "\n")

    def save(t: GANTrainer) -> None:
        _save(t, recipe, out, run)
        saved["step"] = t.step

    def every_step(t: GANTrainer) -> None:
        stops.check()
        schedule(t)
        if t.step % args.checkpoint_every == 0 and t.step < total:
            save(t)

    outcome, clean_stop, start = {"status": "failed", "error": "stopped by an exception"}, False, time.perf_counter()
    with _Signals(defer=not trainer.distributed) as stops:
        try:
            record({"status": "running"})
            trainer.train(max(0, total - first), callback=every_step, progress=is_main and not args.no_progress)
            save(trainer)
            outcome = {"status": "finished"}
        except KeyboardInterrupt as err:
            stops.hold()
            outcome, clean_stop = {"status": "interrupted", "signal": stops.name}, isinstance(err, _StopRequested)
            if clean_stop:  # between two steps, so the state is whole (under torchrun a signal stops at once)
                save(trainer)
        except FloatingPointError as err:  # the weights after a divergence are not usable: they are never saved
            found = re.search(r"diverged at step (\d+)", str(err))
            outcome = {"status": "diverged", "diverged_at_step": int(found[1]) if found else trainer.step,
                       "error": str(err)}
            if is_main:
                _write_history(trainer.history, out / HISTORY_FILE)  # every finite step, up to the divergence
        except Exception as err:
            traceback.print_exc()
            outcome = {"status": "failed", "error": f"{type(err).__name__}: {err}"}
        finally:
            stops.hold()
            seconds = time.perf_counter() - start
            record(outcome, seconds)
    ran, status = trainer.step - first, outcome["status"]
    last = f"the last checkpoint (step {saved['step']}) is {path}" if saved["step"] is not None else "no checkpoint"
    if status == "finished" and is_main:
        rate = f"{round(ran / seconds, 3)} steps/s" if ran and seconds > 0 else "nothing to do"
        print(f"trained {ran} steps in {seconds:.1f} s ({rate}); checkpoint {path}")
    elif status == "interrupted" and is_main:
        print(f"interrupted ({stops.name}) after step {trainer.step}: checkpoint {path} saved" if clean_stop else
              f"interrupted ({stops.name}) during step {trainer.step + 1}, which is not saved half-done; {last}",
              "; continue with --resume", sep="", file=sys.stderr)
    elif status == "diverged" and is_main:
        print(f"error: {outcome['error']} ({last})", file=sys.stderr)
    elif status == "failed":
        print(f"error: the run failed after step {trainer.step}: {outcome['error']} ({last})", file=sys.stderr)
    return {"finished": 0, "interrupted": 128 + (stops.signum or signal.SIGINT)}.get(status, 1)


def _save(trainer: GANTrainer, recipe: Recipe, out: Path, run: dict) -> None:
    """Write the checkpoint (with ``run``: the recipe, the planned steps, the data), history.csv and a picture.

    Every process calls it (under torchrun the state is gathered from all); rank 0 writes. Weights that
    hold NaN or infinite values raise a ``FloatingPointError`` instead, so the checkpoint on disk stays
    the last good one.
    """
    state = trainer.state_dict()  # copies the pending history first, raising FloatingPointError on a bad loss
    bad = [name for name, net in (("generator", trainer.generator), ("discriminator", trainer.discriminator))
           if not all(bool(torch.isfinite(p).all()) for p in net.parameters())]
    if bad:
        raise FloatingPointError(f"training diverged at step {trainer.step}: its update left NaN or infinite weights "
                                 f"in the {' and the '.join(bad)} (its losses were still finite); they are not saved")
    if trainer.rank == 0:
        checkpoint.write_atomic({**state, "run": run}, out / CHECKPOINT)
        _write_history(trainer.history, out / HISTORY_FILE)
        save_samples(trainer, recipe, out / f"samples_step{trainer.step:06d}.png")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    Usage errors raise ``SystemExit(2)`` as argparse does; see the module's docstring for the others.

    Explained in the chapter "Scaling up".
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "recipes":
        width = max(len(name) for name in RECIPES)
        for r in RECIPES.values():
            print(f"{r.name:<{width}}  {r.description} ({r.steps} steps by default)")
        return 0
    try:
        return _train(args)
    except KeyboardInterrupt:  # before training started: a run that trains records its own interruption
        print("interrupted before training started; the files in --out are as they were", file=sys.stderr)
        return 130
