"""Mode collapse on the ring and the grid: GAN remedies over many seeds, beside the published tables.

Each method is a :class:`gancourse.recipes.MixtureRecipe` (networks, loss, remedy, learning-rate
schedule), trained from scratch once per seed on each data set and scored on 2,500 samples with
:func:`gancourse.metrics.mode_metrics` (modes captured, share of high-quality samples, reverse KL), as in
the PacGAN (Lin et al., 2018) and VEEGAN (Srivastava et al., 2017) papers. The table reports mean and
standard error over the seeds (:func:`gancourse.recipes.seed_summary`, as in the chapter "Common
problems"), and the wall-clock and CPU seconds of the slowest run.

The goal set for the course's best recipe: on the ring at least 7.9 modes and 95% high-quality samples,
on the grid at least 24.5 modes and 93%, as means over 10 seeds, each run at most 60 seconds on a CPU.

Usage (from the repository root)::

    python benchmarks/mode_collapse.py                       # best recipes, 10 seeds, both data sets
    python benchmarks/mode_collapse.py --methods all         # every method of the chapter as well
    python benchmarks/mode_collapse.py --methods gan,best --seeds 5 --datasets ring
    python benchmarks/mode_collapse.py --quick               # 2 seeds, short runs: a smoke test

Results go to ``benchmarks/results/mode_collapse.md`` (a table) and ``mode_collapse.json`` (every run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from gancourse import data
from gancourse.recipes import BEST_MIXTURE_RECIPES, MIXTURE_CONFIG, MixtureRecipe, seed_summary, train_recipes
from gancourse.remedies import InstanceNoiseTrainer, PenalizedTrainer, UnrolledGANTrainer

RESULTS = Path(__file__).resolve().parent / "results"

#: Steps per run for the methods of the chapter's table (the same budget for all, so that they compare
#: fairly); the best recipes bring their own.
STEPS = 1000

#: The collapse-prone setup of the chapter's table: a plain GAN with batches of 64.
BASE = MixtureRecipe("GAN (modified minimax)", replace(MIXTURE_CONFIG, batch_size=64))

#: The methods of the chapter "Common problems", in its table's order (keep the two in step).
METHODS = {
    "gan": BASE,
    "minimax": BASE.variant(name="GAN (saturating minimax)", loss="minimax"),
    "wgan_gp": BASE.variant(name="WGAN-GP", loss="wasserstein", gp_weight=0.1, betas=(0.5, 0.9)),
    "unrolled": BASE.variant(name="Unrolled GAN (k = 5)", trainer=UnrolledGANTrainer,
                             trainer_kwargs={"unroll_steps": 5, "second_order": False}),
    "pacgan2": BASE.variant(name="PacGAN2 (extension)", pack=2),
    "noise": BASE.variant(name="Instance noise", trainer=InstanceNoiseTrainer,
                          trainer_kwargs={"sigma_start": 0.3, "anneal_steps": STEPS // 2}),
    "r1": BASE.variant(name="R1 penalty", trainer=PenalizedTrainer, trainer_kwargs={"r1_gamma": 0.1}),
    "l2": BASE.variant(name="Weight penalty", trainer=PenalizedTrainer, trainer_kwargs={"weight_decay": 1e-3}),
}

GOALS = {"ring": {"modes": 7.9, "high_quality_pct": 95.0}, "grid": {"modes": 24.5, "high_quality_pct": 93.0}}
MAX_SECONDS = 60.0

#: Published numbers (mean ± standard error) from PacGAN (Lin et al., 2018), Table 1, 10 trials.
PACGAN_TABLE = {
    "ring": [("GAN", "6.3 ± 0.5", "98.2 ± 0.2", "0.45 ± 0.09"),
             ("ALI", "6.6 ± 0.3", "97.6 ± 0.4", "0.36 ± 0.04"),
             ("PacGAN2", "7.9 ± 0.1", "95.6 ± 2.0", "0.07 ± 0.03"),
             ("PacGAN3", "7.8 ± 0.1", "97.7 ± 0.3", "0.10 ± 0.02"),
             ("PacGAN4", "7.8 ± 0.1", "95.9 ± 1.4", "0.07 ± 0.02")],
    "grid": [("GAN", "17.3 ± 0.8", "94.8 ± 0.7", "0.70 ± 0.07"),
             ("ALI", "24.1 ± 0.4", "95.7 ± 0.6", "0.14 ± 0.03"),
             ("PacGAN2", "23.8 ± 0.7", "91.3 ± 0.8", "0.13 ± 0.04"),
             ("PacGAN3", "24.6 ± 0.4", "94.2 ± 0.4", "0.06 ± 0.02"),
             ("PacGAN4", "24.8 ± 0.2", "93.6 ± 0.6", "0.04 ± 0.01")],
}


def run(methods: list[str], datasets: list[str], seeds: int, quick: bool, workers: int = 1) -> dict:
    """Train every (data set, method, seed) and return the raw runs and the summary rows.

    The seeds of a row train side by side in ``workers`` single-threaded processes with
    :func:`gancourse.recipes.train_recipes`; each run's time is its own, measured in its process.
    """
    mixtures = {"ring": data.ring(), "grid": data.grid()}
    runs, summary = [], []
    for ds in datasets:
        for key in methods:
            recipe, steps = BEST_MIXTURE_RECIPES[ds] if key == "best" else (METHODS[key], STEPS)
            if quick:
                steps = max(50, steps // 20)
            rows = []
            results = train_recipes([(recipe, mixtures[ds], steps, seed) for seed in range(seeds)], workers=workers,
                                    device="cpu", progress=False)
            for seed, result in enumerate(results):
                row = {"dataset": ds, "method": key, "name": recipe.name, "seed": seed, "steps": steps,
                       **result.metrics.as_dict(), "seconds": result.seconds, "cpu_seconds": result.cpu_seconds}
                rows.append(row)
                print(f"{ds:4} {recipe.name:28} seed {seed}: {row['modes']:2d} modes, "
                      f"{row['high_quality_pct']:5.1f}% HQ, reverse KL {row['reverse_kl']:.3f}, "
                      f"{row['seconds']:.1f} s ({row['cpu_seconds']:.1f} s CPU)", flush=True)
            runs += rows
            s = seed_summary([result.metrics for result in results])
            stats = {"modes": s["modes"], "high_quality_pct": s["hq"], "reverse_kl": s["kl"]}
            summary.append({"dataset": ds, "method": key, "name": recipe.name, "steps": steps, "seeds": seeds,
                            **{k: {"mean": m, "se": se} for k, (m, se) in stats.items()},
                            "max_seconds": max(r["seconds"] for r in rows),
                            "max_cpu_seconds": max(r["cpu_seconds"] for r in rows)})
    return {"runs": runs, "summary": summary}


def goal_lines(summary: list[dict]) -> list[str]:
    lines = []
    for row in summary:
        if row["method"] != "best":
            continue
        goal = GOALS[row["dataset"]]
        checks = [row["modes"]["mean"] >= goal["modes"], row["high_quality_pct"]["mean"] >= goal["high_quality_pct"],
                  row["max_seconds"] <= MAX_SECONDS]
        lines.append(f"- {row['dataset']}: {row['modes']['mean']:.2f} modes (goal ≥ {goal['modes']}), "
                     f"{row['high_quality_pct']['mean']:.1f}% high quality (goal ≥ {goal['high_quality_pct']}), "
                     f"slowest run {row['max_seconds']:.1f} s wall / {row['max_cpu_seconds']:.1f} s CPU "
                     f"(goal ≤ {MAX_SECONDS:.0f} s): {'met' if all(checks) else 'not met'}")
    return lines


def markdown(result: dict, meta: dict) -> str:
    out = ["# Mode collapse on 2-D mixtures: measured results", "",
           f"Produced by `benchmarks/mode_collapse.py` on {meta['date']} ({meta['seeds']} seeds per row, "
           f"2,500 samples per run, torch {meta['torch']}, {meta['threads']} thread(s) per run, "
           f"{meta.get('workers', 1)} run(s) side by side, {meta['cpu_count']} CPUs"
           f"{', quick mode' if meta['quick'] else ''}). Mean ± standard error over the seeds; times are those "
           "of the slowest run.", ""]
    for ds in sorted({r["dataset"] for r in result["summary"]}, key=["ring", "grid"].index):
        n_modes = 8 if ds == "ring" else 25
        out += [f"## {ds} ({n_modes} modes)", "",
                "| method | steps | modes captured | high quality % | reverse KL | s (wall) | s (CPU) |",
                "|---|---|---|---|---|---|---|"]
        for row in result["summary"]:
            if row["dataset"] != ds:
                continue
            cells = [f"{row[k]['mean']:.{p}f} ± {row[k]['se']:.{p}f}"
                     for k, p in (("modes", 1), ("high_quality_pct", 1), ("reverse_kl", 2))]
            out.append(f"| {row['name']} | {row['steps']} | {' | '.join(cells)} | {row['max_seconds']:.1f} | "
                       f"{row['max_cpu_seconds']:.1f} |")
        out += ["", "Published (PacGAN paper, Lin et al. 2018, Table 1, 10 trials):", "",
                "| method | modes captured | high quality % | reverse KL |", "|---|---|---|---|"]
        out += [f"| {name} | {m} | {hq} | {kl} |" for name, m, hq, kl in PACGAN_TABLE[ds]]
        out.append("")
    goals = goal_lines(result["summary"])
    if goals:
        out += ["## Goal", "", *goals, ""]
    out += ["## Recipes", ""]
    for ds, (recipe, steps) in BEST_MIXTURE_RECIPES.items():
        out.append(f"- best recipe, {ds}, {steps} steps: `{recipe!r}`")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="best",
                        help=f"comma-separated keys among {', '.join(METHODS)}, best; or 'all' (default: best)")
    parser.add_argument("--datasets", default="ring,grid", help="ring, grid or both (default)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds per row (default 10, as the papers)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads with --workers 1 (default 1)")
    parser.add_argument("--workers", type=int, default=None,
                        help="runs trained side by side, one thread each (default: one per CPU core)")
    parser.add_argument("--quick", action="store_true", help="2 seeds and short runs, to check the script")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for mode_collapse.md and .json")
    args = parser.parse_args(argv)

    methods = [*METHODS, "best"] if args.methods == "all" else args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS and m != "best"]
    datasets = args.datasets.split(",")
    if unknown or not set(datasets) <= {"ring", "grid"}:
        parser.error(f"unknown method(s) {unknown} or data set(s) {datasets}; methods: {', '.join(METHODS)}, best")
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    seeds = 2 if args.quick else args.seeds
    torch.set_num_threads(args.threads)

    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    workers = args.workers or min(os.cpu_count() or 1, seeds)
    result = run(methods, datasets, seeds, args.quick, workers)
    meta = {"date": time.strftime("%Y-%m-%d"), "seeds": seeds, "quick": args.quick, "torch": torch.__version__,
            "threads": torch.get_num_threads() if workers == 1 else 1, "workers": workers,
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "machine": platform.machine()}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "mode_collapse_quick" if args.quick else "mode_collapse"
    (args.out / f"{stem}.json").write_text(json.dumps({"meta": meta, **result}, indent=1))
    (args.out / f"{stem}.md").write_text(markdown(result, meta))
    print("\n".join(goal_lines(result["summary"])))
    print(f"wrote {args.out / stem}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
