#!/usr/bin/env python
"""Write the learners' copy of the programming exercise: the book's notebook without its solutions.

The book shows (and CI runs) the solved exercise, ``book/10_exercise.ipynb``. Every solution in it
is a code cell tagged ``solution``; so are the hidden cells that check the solved notebook's
results. This script copies the notebook without those cells to
``exercises/10_exercise_unsolved.ipynb``, the file that learners open in Colab. Everything else is
kept as is, the Colab install cell first of all, and the skeleton cells (tagged ``exercise``) that
learners fill in.

Usage::

    python scripts/make_unsolved.py            # rewrite the unsolved copy
    python scripts/make_unsolved.py --check    # change nothing; exit 1 if the copy is out of date

Run it after every change to the exercise, and commit both notebooks together
(``tests/test_make_unsolved.py`` fails when the committed copy is out of date).
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLVED = Path("book/10_exercise.ipynb")
UNSOLVED = Path("exercises/10_exercise_unsolved.ipynb")
SOLUTION_TAG = "solution"


def strip_solutions(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` without the cells tagged ``solution``, with no outputs."""
    out = copy.deepcopy(nb)
    out.cells = [cell for cell in out.cells if SOLUTION_TAG not in cell.get("metadata", {}).get("tags", [])]
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    out.metadata.pop("widgets", None)
    return out


def unsolved_text(root: Path = ROOT) -> str:
    """The exact text the unsolved copy must have, made from the solved notebook under ``root``."""
    nb = nbformat.read(root / SOLVED, as_version=4)
    unsolved = strip_solutions(nb)
    nbformat.validate(unsolved)
    return nbformat.writes(unsolved) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the copy is out of date")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    target = args.root / UNSOLVED
    wanted = unsolved_text(args.root)
    current = target.read_text(encoding="utf-8") if target.is_file() else None
    if args.check:
        if current != wanted:
            print(f"{UNSOLVED} is out of date: run python scripts/make_unsolved.py", file=sys.stderr)
            return 1
        print(f"{UNSOLVED} is up to date")
        return 0
    if current == wanted:
        print(f"{UNSOLVED} is already up to date")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(wanted, encoding="utf-8")
    print(f"wrote {UNSOLVED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
