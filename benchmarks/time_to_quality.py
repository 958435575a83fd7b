"""Time to quality: training seconds until a model is good enough, for the baseline and the trainer.

- **ring** (recipe ``ring``, with its learning-rate schedule): seconds until all 8 modes are captured
  with at least 90% high-quality samples (:func:`gancourse.metrics.mode_metrics` on 2,500 samples,
  checked every 250 steps); the time to 80% is reported as well.
- **mnist-dcgan**: seconds until the Fréchet classifier distance between 1,000 generated digits and
  the 1,000 held-out real digits falls to ``--fcd`` (default 400) with all 10 classes present among
  confidently classified samples (:func:`gancourse.metrics.frechet_classifier_distance` and
  :func:`gancourse.metrics.class_coverage`, checked every 50 steps). The distance at the last step is
  reported too: it compares the quality the plain fp32 path and the ``--fast`` (bf16) path reach.

Only training is timed; sampling and scoring happen with the clock stopped. Samples are drawn in eval
mode. Each loop gets the same models, data tensor, batch, optimiser, learning rates and seed.

    python benchmarks/time_to_quality.py [--cases ring,mnist-dcgan] [--seeds 0,1] [--threads N]
"""

from __future__ import annotations

import argparse
import sys

import torch
from common import Clock, cases, machine, machine_markdown, speed_options, table, write_results

from gancourse.classifier import digit_split
from gancourse.data import mnist_digits
from gancourse.data import ring as ring_mixture
from gancourse.metrics import class_coverage, frechet_classifier_distance, mode_metrics
from gancourse.recipes import RECIPES
from gancourse.train import GANTrainer

RING_TARGETS = (0.8, 0.9)


def _loops(case, seed):
    fast = speed_options(case.kind)
    return {
        "baseline": case.baseline(seed),
        "gancourse": case.trainer(seed),
        "gancourse --fast": case.trainer(seed, **fast),
    }, fast


def _train(loop, steps):
    loop.train(steps) if not hasattr(loop, "config") else loop.train(steps, progress=False)


def _sample(loop, n):
    return loop.sample(n).float()


def _set_lr_scale(loop, factor, base):
    """The recipe's schedule on either loop: the trainer's own set_lr_scale, the baseline's set_lr."""
    if isinstance(loop, GANTrainer):
        loop.set_lr_scale(factor)
    else:
        loop.set_lr(base[0] * factor, base[1] * factor)


def ring(case, seed, max_steps, every=250):
    recipe = RECIPES["ring"]
    mix = ring_mixture()  # the modes to score against (the loops train on a fixed sample of it)
    loops, fast = _loops(case, seed)
    out = {"fast_options": fast, "loops": {}}
    for name, loop in loops.items():
        wall, cpu, step, reached, curve = 0.0, 0.0, 0, {}, []
        while step < max_steps and len(reached) < len(RING_TARGETS):
            _set_lr_scale(loop, recipe.schedule.factor(step, max_steps), case.lr)
            with Clock() as c:
                _train(loop, every)
            wall, cpu, step = wall + c.wall, cpu + c.cpu, step + every
            m = mode_metrics(_sample(loop, 2500), mix)
            curve.append((step, round(wall, 2), round(cpu, 2), m.modes_captured, round(100 * m.high_quality, 1)))
            for target in RING_TARGETS:
                if target not in reached and m.modes_captured == 8 and m.high_quality >= target:
                    reached[target] = {"step": step, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}
        out["loops"][name] = {"reached": {f"{int(100 * t)}%": reached.get(t) for t in RING_TARGETS}, "curve": curve}
        print(f"  ring seed {seed} {name}: reached {out['loops'][name]['reached']}, last {curve[-1]}", flush=True)
    return out


def dcgan(case, seed, max_steps, fcd_target, every=50):
    images, labels = mnist_digits()
    _, held_out = digit_split(labels)
    reference = images[held_out]  # (1000, 1, 28, 28) real digits
    loops, fast = _loops(case, seed)
    out = {"fast_options": fast, "fcd_target": fcd_target, "loops": {}}
    for name, loop in loops.items():
        wall, cpu, step, reached, curve = 0.0, 0.0, 0, None, []
        while step < max_steps:
            with Clock() as c:
                _train(loop, every)
            wall, cpu, step = wall + c.wall, cpu + c.cpu, step + every
            fake = torch.cat([_sample(loop, 500), _sample(loop, 500)]).contiguous()
            fcd = frechet_classifier_distance(reference, fake)
            classes = class_coverage(fake).classes_covered
            curve.append((step, round(wall, 2), round(cpu, 2), round(fcd, 1), classes))
            if reached is None and fcd <= fcd_target and classes == 10:
                reached = {"step": step, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}
        out["loops"][name] = {"reached": reached, "final_fcd": curve[-1][3], "final_step": step, "curve": curve}
        print(f"  mnist-dcgan seed {seed} {name}: reached {reached}, last {curve[-1]}", flush=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="ring,mnist-dcgan")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--ring-steps", type=int, default=RECIPES["ring"].steps,
                        help="most steps of the ring case; the recipe's learning-rate schedule spans them")
    parser.add_argument("--dcgan-steps", type=int, default=600)
    parser.add_argument("--fcd", type=float, default=400.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--name", default="time_to_quality")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    info = machine()
    all_cases = cases()
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {}
    for name in args.cases.split(","):
        print(f"{name}: {all_cases[name].description}", flush=True)
        if name == "ring":
            results[name] = {s: ring(all_cases[name], s, args.ring_steps) for s in seeds}
        elif name == "mnist-dcgan":
            results[name] = {s: dcgan(all_cases[name], s, args.dcgan_steps, args.fcd) for s in seeds}
        else:
            raise SystemExit(f"unknown case {name!r}: expected ring or mnist-dcgan")
    info["load_average_1min_end"] = machine().get("load_average_1min")

    def show(reached):
        if reached is None:
            return "not reached"
        return f"{reached['wall_s']:.1f} s wall, {reached['cpu_s']:.1f} s CPU (step {reached['step']})"

    rows = []
    for seed, res in results.get("ring", {}).items():
        for loop, r in res["loops"].items():
            rows.append(["ring", seed, loop] + [show(r["reached"][k]) for k in ("80%", "90%")]
                        + [f"{r['curve'][-1][3]} modes, {r['curve'][-1][4]}% HQ (step {r['curve'][-1][0]})"])
    ring_md = table(["case", "seed", "loop", "8 modes, >= 80% HQ", "8 modes, >= 90% HQ", "at the last check"], rows)
    rows = []
    for seed, res in results.get("mnist-dcgan", {}).items():
        for loop, r in res["loops"].items():
            rows.append(["mnist-dcgan", seed, loop, show(r["reached"]), f"{r['final_fcd']} (step {r['final_step']})"])
    dcgan_md = table(["case", "seed", "loop", f"FCD <= {args.fcd:g} with 10 classes", "FCD at the last step"], rows)
    md = "\n\n".join([
        "# Time to quality: gancourse trainer vs the DCGAN example's loop",
        "Training seconds until the quality target is first met, on the wall clock and in CPU time of the "
        "benchmark process (the steadier measure on a shared machine); scoring is excluded. Quality is checked "
        "every 250 steps (ring) and every 50 steps (DCGAN), so a time is that of the first check that passed.",
        ring_md if "ring" in results else "", dcgan_md if "mnist-dcgan" in results else "",
        "## Machine\n" + machine_markdown(info),
    ])
    write_results(args.name, {"machine": info, "args": vars(args), "cases": {k: {str(s): v for s, v in r.items()}
                                                                              for k, r in results.items()}}, md)
    print(md.split("## Machine")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
