"""The benchmark results that ``make bench`` saves, read back as tidy rows and Markdown tables.

The repository's benchmarks (``benchmarks/`` in the repository, not part of the installed package)
write one JSON file per benchmark to ``benchmarks/results/``:

- ``throughput.json``: training steps per second of three loops (the baseline written like the
  PyTorch DCGAN example, the plain trainer, the trainer with ``--fast``) for each case, on the wall
  clock and in CPU time, each as a ratio to the baseline; the floating-point operations of one step
  and the fraction of the processor's fp32 matrix-product peak that rate reaches,

  ``fraction of peak = (GFLOP per step x steps per second) / (fp32 matrix-product GFLOP/s)``;

  and the *ceiling*, ``fp32 GFLOP/s / GFLOP per step``: the most steps per second that any loop
  doing that arithmetic could reach in float32 on that processor;
- ``time_to_quality.json``: training seconds until each loop first reaches a quality bar (8 modes
  with enough high-quality samples on the ring; a Fréchet classifier distance with all 10 classes
  on the digits);
- ``book_times.json``: the time every chapter takes to run, in the quick mode of the tests and at
  full size.

:func:`results_folder` finds ``benchmarks/results`` from the working folder upwards (a chapter runs
in ``book/``, a script in the repository root). :func:`load_result` reads one file and checks its
shape; a missing file raises :class:`MissingResults` and a malformed one :class:`ResultsError`, both
naming the file. The ``*_rows`` functions turn a loaded file into a list of flat dicts, one per table
row, and the ``*_table`` functions into a Markdown pipe table, which a notebook shows with
``display(Markdown(text))``.

Explained in the chapter "Scaling up".
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "MissingResults",
    "ResultsError",
    "RESULTS_FOLDER",
    "book_times_rows",
    "book_times_table",
    "ceiling_rows",
    "ceiling_table",
    "load_result",
    "machine_summary",
    "markdown_table",
    "results_folder",
    "throughput_rows",
    "throughput_table",
    "time_to_quality_rows",
    "time_to_quality_table",
]

#: Where the benchmarks write their results, relative to the repository root.
RESULTS_FOLDER = Path("benchmarks") / "results"


class ResultsError(ValueError):
    """A results file that cannot be read, or lacks what a table needs; the message names the file.

    Explained in the chapter "Scaling up".
    """


class MissingResults(FileNotFoundError):
    """No results file where one was expected (or no results folder at all); the message names it.

    Explained in the chapter "Scaling up".
    """


# --------------------------------------------------------------------------------------------------
# Finding and reading the files
# --------------------------------------------------------------------------------------------------


def results_folder(start: str | Path | None = None) -> Path | None:
    """The folder ``benchmarks/results`` found from ``start`` (default: the working folder) upwards.

    Returns None when no folder above ``start`` holds one, as in an installed package or in Colab.

    Explained in the chapter "Scaling up".
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / RESULTS_FOLDER
        if candidate.is_dir():
            return candidate
    return None


#: The top-level tables each results file must have.
_REQUIRED = {"throughput": "cases", "time_to_quality": "cases", "book_times": "notebooks"}


def load_result(name: str, folder: str | Path | None = None) -> dict:
    """The results file ``<folder>/<name>.json`` as a dict, checked to have the expected tables.

    ``name`` is ``"throughput"``, ``"time_to_quality"`` or ``"book_times"``; ``folder`` defaults to
    :func:`results_folder`. Raises :class:`MissingResults` when there is no results folder or no
    such file, and :class:`ResultsError` when the file is not JSON or has no ``machine`` record or
    no ``cases`` (``notebooks`` for the book times) table; every message names the file.

    Explained in the chapter "Scaling up".
    """
    if name not in _REQUIRED:
        raise ValueError(f"unknown results name {name!r}: expected one of {', '.join(sorted(_REQUIRED))}")
    if folder is None:
        folder = results_folder()
        if folder is None:
            raise MissingResults(f"no {RESULTS_FOLDER} folder in {Path.cwd()} or any folder above it: "
                                 "run `make bench` in a clone of the repository")
    path = Path(folder) / f"{name}.json"
    if not path.is_file():
        raise MissingResults(f"{path}: no such results file (run `make bench`, or `make bench-book` "
                             "for book_times.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ResultsError(f"{path}: cannot be read as JSON ({err})") from err
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: expected a JSON object, got {type(data).__name__}")
    table = _REQUIRED[name]
    if not isinstance(data.get(table), dict):
        raise ResultsError(f"{path}: has no {table!r} table")
    if not isinstance(data.get("machine"), dict):
        raise ResultsError(f"{path}: has no 'machine' record")
    data["_path"] = str(path)
    return data


def _where(data: Mapping) -> str:
    return str(data.get("_path", "results"))


def _get(data: Mapping, mapping: Any, key: str, context: str, kind=numbers.Real) -> Any:
    """``mapping[key]``, checked to be of ``kind`` (finite if a number); else ResultsError naming the file."""
    value = mapping.get(key) if isinstance(mapping, Mapping) else None
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and isinstance(value, numbers.Real):
        ok = math.isfinite(value)
    if not ok:
        raise ResultsError(f"{_where(data)}: {context} has no valid {key!r} (got {value!r})")
    return value


def _cases(data: Mapping) -> Mapping:
    cases = data.get("cases")
    if not isinstance(cases, Mapping):
        raise ResultsError(f"{_where(data)}: has no 'cases' table")
    return cases


# --------------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> str:
    """A Markdown pipe table of ``rows``: ``columns`` maps each row key to its column heading.

    Values are shown with ``str`` (format numbers before); a ``|`` in a value is escaped.

    Explained in the chapter "Scaling up".
    """
    if not columns:
        raise ValueError("columns must name at least one column")
    lines = ["| " + " | ".join(_cell(h) for h in columns.values()) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        missing = [key for key in columns if key not in row]
        if missing:
            raise KeyError(f"row {dict(row)!r} has no value for the column(s) {missing}")
        lines.append("| " + " | ".join(_cell(row[key]) for key in columns) + " |")
    return "\n".join(lines)


def machine_summary(data: Mapping) -> str:
    """One sentence on the machine a results file was measured on (date, processor, cores, GPU).

    Explained in the chapter "Scaling up".
    """
    m = data.get("machine")
    if not isinstance(m, Mapping):
        raise ResultsError(f"{_where(data)}: has no 'machine' record")
    parts = [f"Measured {m.get('date', 'on an unknown date')} on {m.get('processor') or 'an unknown processor'}"]
    if isinstance(m.get("cpu_cores"), int):
        parts.append(f"{m['cpu_cores']} cores")
    if isinstance(m.get("torch_threads"), int):
        parts.append(f"{m['torch_threads']} PyTorch threads")
    if "bf16_native" in m:
        parts.append("bfloat16 matrix hardware: " + ("yes" if m["bf16_native"] else "no"))
    parts.append(f"GPU: {m['gpu']}" if m.get("gpu") else "no GPU")
    return ", ".join(parts) + "."


# --------------------------------------------------------------------------------------------------
# Throughput
# --------------------------------------------------------------------------------------------------


def throughput_rows(data: Mapping) -> list[dict]:
    """One row per case and loop of ``throughput.json``.

    Keys: ``case``, ``loop``, ``steps_per_s`` and ``ratio`` (wall clock), ``steps_per_s_cpu`` and
    ``ratio_cpu`` (CPU time of the process), ``gflop_per_step`` and ``fraction_of_peak`` (None when
    the file has no FLOP count). A ratio is the loop's steps per second over the baseline's.

    Explained in the chapter "Scaling up".
    """
    rows = []
    for case, res in _cases(data).items():
        loops = res.get("loops") if isinstance(res, Mapping) else None
        if not isinstance(loops, Mapping) or not loops:
            raise ResultsError(f"{_where(data)}: case {case!r} has no 'loops'")
        for loop, r in loops.items():
            where = f"case {case!r}, loop {loop!r}"
            flops = "gflop_per_step" in r if isinstance(r, Mapping) else False
            rows.append({
                "case": case,
                "loop": loop,
                "steps_per_s": float(_get(data, r, "steps_per_s_wall", where)),
                "ratio": float(_get(data, r, "ratio_wall", where)),
                "steps_per_s_cpu": float(_get(data, r, "steps_per_s_cpu", where)),
                "ratio_cpu": float(_get(data, r, "ratio_cpu", where)),
                "gflop_per_step": float(_get(data, r, "gflop_per_step", where)) if flops else None,
                "fraction_of_peak": float(_get(data, r, "fraction_of_fp32_peak", where)) if flops else None,
            })
    return rows


def _load(data_or_folder: Mapping | str | Path | None, name: str) -> Mapping:
    if isinstance(data_or_folder, Mapping):
        return data_or_folder
    return load_result(name, data_or_folder)


def throughput_table(results: Mapping | str | Path | None = None) -> str:
    """The throughput results as a Markdown table: speed and ratio to the baseline, FLOPs, % of peak.

    ``results`` is a loaded ``throughput.json`` (see :func:`load_result`) or the folder holding it
    (default: :func:`results_folder`).

    Explained in the chapter "Scaling up".
    """
    data = _load(results, "throughput")
    shown = []
    for r in throughput_rows(data):
        shown.append({
            "case": r["case"], "loop": r["loop"],
            "steps/s": f"{r['steps_per_s']:.1f}", "vs baseline": f"{r['ratio']:.2f}x",
            "cpu": f"{r['ratio_cpu']:.2f}x",
            "gflop": "" if r["gflop_per_step"] is None else f"{r['gflop_per_step']:.3f}",
            "peak": "" if r["fraction_of_peak"] is None else f"{100 * r['fraction_of_peak']:.0f}%",
        })
    return markdown_table(shown, {"case": "case", "loop": "loop", "steps/s": "steps/s",
                                  "vs baseline": "vs baseline", "cpu": "vs baseline (CPU time)",
                                  "gflop": "GFLOP per step", "peak": "% of fp32 peak"})


def ceiling_rows(data: Mapping) -> list[dict]:
    """One row per case of ``throughput.json``: the float32 ceiling and how close the loops come.

    Keys: ``case``, ``fp32_gflops`` and ``bf16_gflops`` (the processor's measured matrix-product
    rates), ``ceiling_steps_per_s``, ``ceiling_ratio`` (the ceiling over the baseline's speed),
    ``fast_ratio`` (the ``gancourse --fast`` loop over the baseline, wall clock; None if absent).

    Explained in the chapter "Scaling up".
    """
    machine = data.get("machine", {})
    fp32 = float(_get(data, machine, "fp32_matmul_gflops", "the machine record"))
    bf16 = machine.get("bf16_matmul_gflops")
    rows = []
    for case, res in _cases(data).items():
        where = f"case {case!r}"
        fast = res.get("loops", {}).get("gancourse --fast")
        rows.append({
            "case": case,
            "fp32_gflops": fp32,
            "bf16_gflops": float(bf16) if isinstance(bf16, numbers.Real) else None,
            "ceiling_steps_per_s": float(_get(data, res, "ceiling_steps_per_s", where)),
            "ceiling_ratio": float(_get(data, res, "ceiling_ratio", where)),
            "fast_ratio": float(_get(data, fast, "ratio_wall", where + " loop 'gancourse --fast'"))
            if fast is not None else None,
        })
    return rows


def ceiling_table(results: Mapping | str | Path | None = None) -> str:
    """The float32 ceiling of each throughput case as a Markdown table, next to the ``--fast`` ratio.

    Explained in the chapter "Scaling up".
    """
    data = _load(results, "throughput")
    shown = [{"case": r["case"], "ceiling": f"{r['ceiling_steps_per_s']:.0f}",
              "ratio": f"{r['ceiling_ratio']:.2f}x",
              "fast": "" if r["fast_ratio"] is None else f"{r['fast_ratio']:.2f}x"}
             for r in ceiling_rows(data)]
    return markdown_table(shown, {"case": "case", "ceiling": "fp32 ceiling (steps/s)",
                                  "ratio": "ceiling vs baseline", "fast": "--fast vs baseline"})


# --------------------------------------------------------------------------------------------------
# Time to quality
# --------------------------------------------------------------------------------------------------


def time_to_quality_rows(data: Mapping) -> list[dict]:
    """One row per case, seed, loop and quality bar of ``time_to_quality.json``.

    Keys: ``case``, ``seed``, ``loop``, ``bar`` (the quality bar in words), ``wall_s``, ``cpu_s``
    and ``step`` when the bar was first met (all None when it was not), and ``at_end`` (the quality
    at the last check, in words).

    Explained in the chapter "Scaling up".
    """
    rows = []
    for case, seeds in _cases(data).items():
        if not isinstance(seeds, Mapping):
            raise ResultsError(f"{_where(data)}: case {case!r} is not a table of seeds")
        for seed, res in seeds.items():
            loops = res.get("loops") if isinstance(res, Mapping) else None
            if not isinstance(loops, Mapping):
                raise ResultsError(f"{_where(data)}: case {case!r}, seed {seed} has no 'loops'")
            for loop, r in loops.items():
                where = f"case {case!r}, seed {seed}, loop {loop!r}"
                reached = r.get("reached") if isinstance(r, Mapping) else None
                if "fcd_target" in res:  # the digits: one bar
                    bars = {f"FCD <= {res['fcd_target']:g}, 10 classes": reached}
                    fcd = _get(data, r, "final_fcd", where)
                    at_end = f"FCD {fcd:.1f} at step {_get(data, r, 'final_step', where, int)}"
                elif isinstance(reached, Mapping):  # the ring: one bar per share of good samples
                    bars = {f"8 modes, >= {share} HQ": hit for share, hit in reached.items()}
                    curve = r.get("curve")
                    at_end = ""
                    if isinstance(curve, list) and curve and isinstance(curve[-1], list) and len(curve[-1]) >= 5:
                        step, _, _, modes, hq = curve[-1][:5]
                        at_end = f"{modes} modes, {hq:.0f}% HQ at step {step}"
                else:
                    raise ResultsError(f"{_where(data)}: {where} has no 'reached' record")
                for bar, hit in bars.items():
                    if hit is not None and not isinstance(hit, Mapping):
                        raise ResultsError(f"{_where(data)}: {where}, bar {bar!r}: bad record {hit!r}")
                    rows.append({
                        "case": case, "seed": seed, "loop": loop, "bar": bar,
                        "wall_s": None if hit is None else float(_get(data, hit, "wall_s", where)),
                        "cpu_s": None if hit is None else float(_get(data, hit, "cpu_s", where)),
                        "step": None if hit is None else int(_get(data, hit, "step", where, int)),
                        "at_end": at_end,
                    })
    return rows


def time_to_quality_table(results: Mapping | str | Path | None = None) -> str:
    """The time-to-quality results as a Markdown table: seconds (wall, CPU) and step to each bar.

    Explained in the chapter "Scaling up".
    """
    data = _load(results, "time_to_quality")
    shown = []
    for r in time_to_quality_rows(data):
        hit = r["wall_s"] is not None
        shown.append({
            "case": r["case"], "loop": r["loop"], "bar": r["bar"],
            "wall": f"{r['wall_s']:.1f}" if hit else "not reached",
            "cpu": f"{r['cpu_s']:.1f}" if hit else "",
            "step": str(r["step"]) if hit else "",
            "end": r["at_end"],
        })
    return markdown_table(shown, {"case": "case", "loop": "loop", "bar": "quality bar", "wall": "seconds",
                                  "cpu": "CPU seconds", "step": "step", "end": "at the last check"})


# --------------------------------------------------------------------------------------------------
# Book times
# --------------------------------------------------------------------------------------------------


def book_times_rows(data: Mapping) -> list[dict]:
    """One row per chapter of ``book_times.json``: ``chapter`` and, for each mode, its seconds.

    A mode's value is the run time in seconds, or None when the chapter was not run in that mode
    or its run failed (``status`` other than ``"ok"``). The modes are the file's ``modes`` list
    (``["quick", "full"]``).

    Explained in the chapter "Scaling up".
    """
    notebooks = data.get("notebooks")
    if not isinstance(notebooks, Mapping):
        raise ResultsError(f"{_where(data)}: has no 'notebooks' table")
    modes = data.get("modes", ["quick", "full"])
    if not isinstance(modes, list) or not all(isinstance(m, str) for m in modes):
        raise ResultsError(f"{_where(data)}: 'modes' must be a list of names, got {modes!r}")
    rows = []
    for chapter, times in notebooks.items():
        row: dict[str, Any] = {"chapter": chapter}
        for mode in modes:
            t = times.get(mode) if isinstance(times, Mapping) else None
            ok = isinstance(t, Mapping) and t.get("status") == "ok"
            row[mode] = float(_get(data, t, "seconds", f"chapter {chapter!r}, mode {mode!r}")) if ok else None
        rows.append(row)
    return rows


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "not run"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def book_times_table(results: Mapping | str | Path | None = None) -> str:
    """The run time of every chapter, quick and full size, as a Markdown table with a total row.

    Explained in the chapter "Scaling up".
    """
    data = _load(results, "book_times")
    modes = data.get("modes", ["quick", "full"])
    rows = book_times_rows(data)
    shown = [{"chapter": r["chapter"], **{m: _minutes(r[m]) for m in modes}} for r in rows]
    totals = {m: sum(r[m] for r in rows if r[m] is not None) for m in modes}
    shown.append({"chapter": "**total**", **{m: f"**{totals[m] / 60:.1f} min**" for m in modes}})
    return markdown_table(shown, {"chapter": "chapter", **{m: f"{m} mode" for m in modes}})
