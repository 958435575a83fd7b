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
  written atomically by :meth:`GANTrainer.save` (``--resume`` continues from it, up to ``--steps``);
- ``samples_stepNNNNNN.png``: a picture of the generator's output at each checkpoint (a grid of
  digits, or generated points over real ones);
- ``run.json``: the recipe, the options, the device, the number of processes and the speed.

Under ``torchrun`` every process trains (see :mod:`gancourse.distributed`) and only rank 0 writes.

Explained in the chapter "Scaling up".
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Sequence

import torch

from gancourse import distributed as dist_utils
from gancourse.recipes import RECIPES, Recipe, make_trainer
from gancourse.speed import bf16_supported
from gancourse.train import GANTrainer

__all__ = ["save_samples", "build_parser", "main"]

CHECKPOINT = "checkpoint.pt"
RUN_FILE = "run.json"


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
    train.add_argument("--recipe", required=True, choices=list(RECIPES), help="what to train")
    train.add_argument("--steps", type=_positive_int, help="total number of training steps (default: the recipe's); "
                       "the recipe's learning-rate schedule stretches over them")
    train.add_argument("--out", type=Path, default=None, help="folder for the checkpoint, pictures and run.json "
                       "(default: runs/RECIPE)")
    train.add_argument("--checkpoint-every", type=_positive_int, default=500, metavar="N",
                       help="write a checkpoint and a picture every N steps (default 500)")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    train.add_argument("--seed", type=int, default=0, help="seed of the weights and of the batches (default 0)")
    train.add_argument("--batch-size", type=_positive_int,
                       help="examples per update and process (default: the recipe's)")
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
    if name == "auto":
        return info.device
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda, but PyTorch sees no CUDA GPU here (use --device cpu or auto)")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise SystemExit("error: --device mps, but Apple's MPS is not available here (use --device cpu or auto)")
    if name == "cuda" and info.backend is not None:
        return info.device  # cuda:LOCAL_RANK under torchrun
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


def _train(args, parser: argparse.ArgumentParser) -> int:
    recipe = RECIPES[args.recipe]
    out = args.out if args.out is not None else Path("runs") / recipe.name
    checkpoint = out / CHECKPOINT
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out} is a file, not a folder")
    if args.resume and not checkpoint.is_file():
        parser.error(f"--resume: there is no checkpoint at {checkpoint}")
    if not args.resume and checkpoint.exists():
        parser.error(f"{checkpoint} already exists: pass --resume to continue that run, or choose another --out")
    if args.resume and (out / RUN_FILE).is_file():
        before = json.loads((out / RUN_FILE).read_text()).get("recipe")
        if before not in (None, recipe.name):
            parser.error(f"--resume: {out} holds a run of recipe {before!r}, not {recipe.name!r}")
    if args.threads:
        torch.set_num_threads(args.threads)

    info = dist_utils.init_distributed(backend="gloo" if args.device == "cpu" and dist_utils.launched_by_torchrun()
                                       else None)
    device = _device_for(args.device, info)
    overrides = dict(seed=args.seed, **_speed_options(args, recipe, device))
    if args.batch_size:
        overrides["batch_size"] = args.batch_size
    try:
        trainer = make_trainer(recipe, device=device, **overrides)
    except NotImplementedError as err:  # a trainer that cannot run on several processes
        print(f"error: recipe {recipe.name!r}: {err}", file=sys.stderr)
        dist_utils.cleanup()
        return 2
    if args.resume:
        try:
            trainer.load(checkpoint)
        except (ValueError, KeyError, RuntimeError) as err:
            print(f"error: cannot resume from {checkpoint}: {err}", file=sys.stderr)
            dist_utils.cleanup()
            return 2
    total = args.steps if args.steps is not None else recipe.steps
    recipe.schedule.apply(trainer, total)  # the rates for the next step (also after resuming)
    schedule = recipe.schedule.callback(total)
    todo = max(0, total - trainer.step)
    is_main = info.rank == 0
    if is_main:
        print(f"recipe {recipe.name}: {recipe.description}")
        print(f"device {trainer.device}, {info.world_size} process(es), precision {trainer.precision}, "
              f"channels_last {trainer.config.channels_last}, fused optimizer {trainer.config.fused_optimizer}, "
              f"batch {trainer.config.batch_size} per process; steps {trainer.step} -> {total}")
    if is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / RUN_FILE).write_text(json.dumps({"recipe": recipe.name, "status": "running"}, indent=2) + "\n")

    def every_step(t: GANTrainer) -> None:
        schedule(t)
        if t.step % args.checkpoint_every == 0 and t.step < total:
            _checkpoint(t, recipe, out)

    start = time.perf_counter()
    trainer.train(todo, callback=every_step, progress=is_main and not args.no_progress)
    seconds = time.perf_counter() - start
    _checkpoint(trainer, recipe, out)
    if is_main:
        summary = {
            "recipe": recipe.name, "status": "finished", "steps": trainer.step, "steps_this_run": todo,
            "seconds": round(seconds, 3),
            "steps_per_second": round(todo / seconds, 3) if todo and seconds > 0 else None,
            "device": str(trainer.device), "processes": info.world_size, "backend": info.backend,
            "precision": trainer.precision, "config": {k: v for k, v in vars(trainer.config).items()},
            "final": {k: trainer.history[k][-1] for k in ("d_loss", "g_loss")} if trainer.history["step"] else {},
        }
        (out / RUN_FILE).write_text(json.dumps(summary, indent=2, default=str) + "\n")
        rate = f"{summary['steps_per_second']} steps/s" if summary["steps_per_second"] else "nothing to do"
        print(f"trained {todo} steps in {seconds:.1f} s ({rate}); checkpoint {checkpoint}")
    dist_utils.cleanup()
    return 0


def _checkpoint(trainer: GANTrainer, recipe: Recipe, out: Path) -> None:
    trainer.save(out / CHECKPOINT)  # every process calls it; rank 0 writes
    if trainer.rank == 0:
        save_samples(trainer, recipe, out / f"samples_step{trainer.step:06d}.png")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    Explained in the chapter "Scaling up".
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "recipes":
        width = max(len(name) for name in RECIPES)
        for r in RECIPES.values():
            print(f"{r.name:<{width}}  {r.description} ({r.steps} steps by default)")
        return 0
    return _train(args, parser)
