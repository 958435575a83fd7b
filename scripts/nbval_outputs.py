"""pytest plugin: keep the notebooks nbval executed, outputs and all, so the book can render them.

``make test`` tests every notebook with nbval and then builds the quick book with ``-W``. Both
used to execute every notebook; with this plugin nbval's run is the only one::

    pytest -p nbval_outputs --nbval-lax --nbval-keep-outputs=_build/quick/executed book

For every notebook whose cells **all** passed, the notebook is written to
``<folder>/<path relative to the root>`` with the outputs each cell produced under nbval (streams,
displays, results, glued values) and execution counts; a notebook with a failing cell is not
written, so the book build that reads the folder cannot render a broken run.
``scripts/quick_book.py`` then builds the book from those notebooks without executing them.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--nbval-keep-outputs",
        metavar="FOLDER",
        default=None,
        help="write each fully passing notebook, with the outputs nbval produced, under FOLDER",
    )


def _is_cell(item) -> bool:
    return hasattr(item, "cell") and hasattr(item, "test_outputs") and hasattr(item.parent, "nb")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if _is_cell(item) and report.failed:
        item.parent._kept_failed = True


def pytest_runtest_teardown(item, nextitem):
    folder = item.config.getoption("--nbval-keep-outputs")
    if not folder or not _is_cell(item):
        return
    notebook = item.parent
    count = getattr(notebook, "_kept_count", 0) + 1
    notebook._kept_count = count
    item.cell.outputs = list(item.test_outputs or [])
    item.cell.execution_count = count
    for out in item.cell.outputs:
        if out.get("output_type") == "execute_result":
            out["execution_count"] = count
    if nextitem is not None and getattr(nextitem, "parent", None) is notebook:
        return  # more cells of this notebook to come
    if getattr(notebook, "_kept_failed", False):
        return
    source = Path(str(notebook.fspath)).resolve()
    target = Path(folder) / os.path.relpath(source, Path(str(item.config.rootpath)).resolve())
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(notebook.nb)
    temporary = target.with_suffix(".ipynb.part")
    nbformat.write(notebook.nb, str(temporary))
    os.replace(temporary, target)
