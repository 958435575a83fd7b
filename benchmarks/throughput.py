"""Steps per second: the gancourse trainer against the DCGAN example's loop, side by side in one process.

For each case the same models (same initial weights), the same data tensor, batch size, optimiser and
seed go to three loops: the baseline (``baseline.py``), the gancourse trainer on its plain path, and the
trainer with the speed paths of ``--fast``. Each loop first runs a few warm-up steps (allocations,
oneDNN kernel selection); then the three are timed in turn, ``--reps`` times, in a rotating order so
that none always runs first. Reported: the median steps per second (wall clock, and CPU time of this
process, which a busy machine disturbs less) and the median of the per-round ratios to the baseline.

The script also counts the arithmetic of one step of each loop (``torch.utils.flop_counter``, forward
and backward) and measures the processor's fp32 matrix-product rate (a 2048 x 2048 matmul). Their
quotient is the fastest any loop doing that arithmetic could run here (its ceiling), and the achieved
GFLOP/s over that rate is the fraction of the processor's peak each loop reaches.

    python benchmarks/throughput.py [--cases mnist-dcgan,ring,ring-small] [--reps 5] [--threads N]
"""

from __future__ import annotations

import argparse
import sys

import torch
from common import Clock, cases, machine, machine_markdown, median, speed_options, table, write_results
from torch.utils.flop_counter import FlopCounterMode

STEPS = {"mnist-dcgan": 20, "ring": 150, "ring-small": 300}
WARMUP = {"mnist-dcgan": 3, "ring": 20, "ring-small": 30}


def step_flops(run) -> int:
    """Floating-point operations of one training step (matrix products and convolutions, both passes)."""
    with FlopCounterMode(display=False) as counter:
        run(1)
    return counter.get_total_flops()


def matmul_rate(dtype=torch.float32, n: int = 2048, reps: int = 5) -> float:
    """GFLOP/s of an n x n matrix product on this CPU (best of ``reps``): the practical peak."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(reps):
        with Clock() as c:
            a @ b
        best = min(best, c.wall)
    return 2 * n ** 3 / best / 1e9


def measure(case, reps: int, steps: int, warmup: int, seed: int = 0) -> dict:
    fast = speed_options(case.kind)
    loops = {
        "baseline": case.baseline(seed),
        "gancourse": case.trainer(seed),
        "gancourse --fast": case.trainer(seed, **fast),
    }
    runs = {name: (lambda s, loop=loop: loop.train(s)) if name == "baseline"
            else (lambda s, loop=loop: loop.train(s, progress=False)) for name, loop in loops.items()}
    for run in runs.values():
        run(warmup)
    flops = {name: step_flops(run) for name, run in runs.items()}
    wall = {name: [] for name in runs}
    cpu = {name: [] for name in runs}
    names = list(runs)
    for rep in range(reps):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            with Clock() as c:
                runs[name](steps)
            wall[name].append(steps / c.wall)
            cpu[name].append(steps / c.cpu)
        print(f"  {case.name} round {rep + 1}/{reps}: " + ", ".join(
            f"{n} {wall[n][-1]:.1f} steps/s" for n in names), flush=True)
    out = {"steps_per_round": steps, "rounds": reps, "fast_options": fast, "loops": {}}
    for name in names:
        out["loops"][name] = {
            "steps_per_s_wall": median(wall[name]), "steps_per_s_cpu": median(cpu[name]),
            "ratio_wall": median([a / b for a, b in zip(wall[name], wall["baseline"])]),
            "ratio_cpu": median([a / b for a, b in zip(cpu[name], cpu["baseline"])]),
            "raw_wall": wall[name], "raw_cpu": cpu[name],
            "gflop_per_step": flops[name] / 1e9,
            "gflops_wall": flops[name] / 1e9 * median(wall[name]),
        }
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="mnist-dcgan,ring,ring-small")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the steps per round (0.1 for a smoke test)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--name", default="throughput", help="results file name")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    info = machine()
    info["fp32_matmul_gflops"] = round(matmul_rate(), 1)
    info["bf16_matmul_gflops"] = round(matmul_rate(torch.bfloat16), 1)
    peak = info["fp32_matmul_gflops"]
    all_cases = cases()
    results = {}
    for name in args.cases.split(","):
        case = all_cases[name]
        print(f"{name}: {case.description}", flush=True)
        results[name] = measure(case, args.reps, max(2, round(STEPS[name] * args.scale)), WARMUP[name])
        results[name]["description"] = case.description
    info["load_average_1min_end"] = machine().get("load_average_1min")
    header = ["case", "loop", "steps/s (wall)", "vs baseline (wall)", "steps/s (CPU)", "vs baseline (CPU)",
              "GFLOP/step", "% of fp32 peak"]
    rows, ceilings = [], []
    for name, res in results.items():
        for loop, r in res["loops"].items():
            r["fraction_of_fp32_peak"] = r["gflops_wall"] / peak
            rows.append([name, loop, f"{r['steps_per_s_wall']:.2f}", f"{r['ratio_wall']:.2f}x",
                         f"{r['steps_per_s_cpu']:.2f}", f"{r['ratio_cpu']:.2f}x", f"{r['gflop_per_step']:.3f}",
                         f"{100 * r['fraction_of_fp32_peak']:.0f}%"])
        base, fast = res["loops"]["baseline"], res["loops"]["gancourse --fast"]
        res["ceiling_steps_per_s"] = peak / fast["gflop_per_step"]
        res["ceiling_ratio"] = res["ceiling_steps_per_s"] / base["steps_per_s_wall"]
        ceilings.append(f"- {name}: {fast['gflop_per_step']:.3f} GFLOP per step at {peak:.0f} GFLOP/s is at most "
                        f"{res['ceiling_steps_per_s']:.1f} steps/s, **{res['ceiling_ratio']:.2f}x** the baseline")
    md = "\n\n".join([
        "# Throughput: gancourse trainer vs the DCGAN example's loop",
        "Same models, initial weights, data tensor, batch size, optimiser and seed; medians over "
        f"{args.reps} interleaved rounds in one process. `--fast` options per case: "
        + "; ".join(f"{n}: {r['fast_options']}" for n, r in results.items()) + ".",
        table(header, rows),
        "Ceiling: the arithmetic of one `--fast` step at the fp32 matrix-product rate measured in this run "
        f"({peak:.0f} GFLOP/s; bf16 {info['bf16_matmul_gflops']:.0f} GFLOP/s), with no other cost:\n"
        + "\n".join(ceilings),
        "Cases:\n" + "\n".join(f"- {n}: {r['description']}" for n, r in results.items()),
        "## Machine\n" + machine_markdown(info),
    ])
    write_results(args.name, {"machine": info, "cases": results}, md)
    print(table(header, rows))
    print("\n".join(ceilings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
