"""Book execution time: run every notebook under book/ with nbclient, in quick and in full mode, and time it.

Quick mode (``GANCOURSE_QUICK=1``) is what the tests run twice per notebook (nbval and the book build);
full mode is what the published book runs. Each notebook runs in a fresh kernel from the book folder,
as Jupyter Book runs it; a notebook that fails is reported with its error and the others go on.
The full book takes a long time (each chapter may take minutes): this script is not part of the tests.

    python benchmarks/book_times.py [--mode quick|full|both] [--only 05_training,12_scaling_up] [--update]

``--update`` re-times only the notebooks named with ``--only`` and keeps the other rows of the existing
results file; each row records when it was measured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import nbformat
from common import RESULTS, ROOT, machine, machine_markdown, table, write_results
from nbclient import NotebookClient

BOOK = ROOT / "book"


def run_notebook(path, quick: bool, timeout: int) -> dict:
    nb = nbformat.read(path, as_version=4)
    saved = os.environ.get("GANCOURSE_QUICK")
    if quick:
        os.environ["GANCOURSE_QUICK"] = "1"
    else:
        os.environ.pop("GANCOURSE_QUICK", None)
    start = time.perf_counter()
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(BOOK)}})
        client.execute()
        status = "ok"
    except Exception as err:  # noqa: BLE001  (report any failure and go on with the next notebook)
        status = f"error: {type(err).__name__}: {str(err).strip().splitlines()[-1][:200] if str(err).strip() else ''}"
    finally:
        if saved is None:
            os.environ.pop("GANCOURSE_QUICK", None)
        else:
            os.environ["GANCOURSE_QUICK"] = saved
    return {"seconds": round(time.perf_counter() - start, 1), "status": status}


def merge(old: dict, new: dict) -> tuple[list[str], dict]:
    """The rows of ``old`` (a results file) with those of ``new`` on top; each row keeps its date."""
    merged = {}
    for payload in (old, new):
        for name, r in payload["notebooks"].items():
            for mode, row in r.items():
                merged.setdefault(name, {})[mode] = {"measured": payload["machine"]["date"], **row}
    modes = [m for m in ("quick", "full") if m in set(old["modes"]) | set(new["modes"])]
    return modes, dict(sorted(merged.items()))


def render(info: dict, modes: list[str], results: dict) -> str:
    """The Markdown table of ``results`` (notebook -> mode -> {seconds, status})."""
    rows = [[name] + [f"{r[m]['seconds']:.1f} s" + ("" if r[m]["status"] == "ok" else f" ({r[m]['status']})")
                      if m in r else "not measured" for m in modes] for name, r in results.items()]
    totals = ["total"] + [f"{sum(r[m]['seconds'] for r in results.values() if m in r):.1f} s" for m in modes]
    dates = sorted({r[m].get("measured", info["date"]) for r in results.values() for m in modes if m in r})
    return "\n\n".join([
        "# Book execution time per notebook",
        "Each notebook executed once with nbclient in a fresh kernel (wall clock, kernel start included). "
        f"Measured {dates[0]}" + (f" to {dates[-1]}" if len(dates) > 1 else "") + ".",
        table(["notebook"] + [f"{m} mode" for m in modes], rows + [totals]),
        "## Machine\n" + machine_markdown(info),
    ])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["quick", "full", "both"], default="both")
    parser.add_argument("--only", default="", help="comma-separated notebook names (without .ipynb)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--name", default="book_times")
    parser.add_argument("--update", action="store_true",
                        help="keep the existing results of the notebooks not run this time")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    notebooks = sorted(p for p in BOOK.glob("*.ipynb") if not names or p.stem in names)
    modes = ["quick", "full"] if args.mode == "both" else [args.mode]
    info = machine()
    results = {}
    for path in notebooks:
        results[path.stem] = {}
        for mode in modes:
            results[path.stem][mode] = r = run_notebook(path, mode == "quick", args.timeout)
            print(f"{path.name:<40} {mode:<5} {r['seconds']:8.1f} s  {r['status']}", flush=True)
    info["load_average_1min_end"] = machine().get("load_average_1min")
    existing = RESULTS / f"{args.name}.json"
    if args.update and existing.is_file():
        new = {"machine": info, "modes": modes, "notebooks": results}
        modes, results = merge(json.loads(existing.read_text()), new)
    md = render(info, modes, results)
    write_results(args.name, {"machine": info, "modes": modes, "notebooks": results}, md)
    print(md.split("## Machine")[0])
    return 0 if all(r[m]["status"] == "ok" for r in results.values() for m in modes if m in r) else 1


if __name__ == "__main__":
    sys.exit(main())
