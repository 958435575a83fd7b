"""What a chapter page shows around its code: the "In this chapter" box and numbers in sentences.

Two small tools keep the book's prose honest:

- :func:`in_this_chapter` opens a chapter with its key ideas and the time the chapter takes to run
  at full size on a CPU. The time is *read* from the book's own timing file
  (``benchmarks/results/book_times.json``, written by ``make bench-book``), never typed.
- :func:`glue` stores a number computed in the notebook under a name, so that a sentence of the
  page can state it: ``{glue:text}`fcd_end:.1f``` in a Markdown cell shows the value the code
  computed when the book was built (MyST-NB's *glue* mechanism). A number in prose is therefore
  always the number the run produced.

Outside the book builder (a plain Jupyter or Colab session without MyST-NB) :func:`glue` only
records the value in :data:`GLUED`, and the box leaves out the run time when the timing file is not
there (an installed package has no ``benchmarks/`` folder).

Explained in the chapter "Welcome" (how to read the book).
"""

from __future__ import annotations

import html
import json
import math
import numbers
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gancourse.results import results_folder

__all__ = ["GLUED", "ChapterBox", "chapter_run_time", "glue", "in_this_chapter", "timing_file"]

#: Every value passed to :func:`glue` in this session, by name (also when MyST-NB is absent).
GLUED: dict[str, Any] = {}

def timing_file(start: str | Path | None = None) -> Path | None:
    """The book's timing file, ``book_times.json`` in the results folder that
    :func:`gancourse.results.results_folder` finds from ``start`` (default: the working folder)
    upwards, or None.

    Notebooks run from ``book/``, so the file is one folder up; a script may run from the root.

    Explained in the chapter "Welcome".
    """
    folder = results_folder(start)
    candidate = folder / "book_times.json" if folder is not None else None
    return candidate if candidate is not None and candidate.is_file() else None


def chapter_run_time(chapter: str, times: str | Path | None = None) -> dict | None:
    """The measured full-size run time of ``chapter`` (a notebook name such as ``"05_training"``).

    Returns ``{"seconds": float, "measured": str, "cpu_cores": int | None, "gpu": str | None}`` from
    the timing file (``times``, or :func:`timing_file`), or None when there is no file, no full-size
    row for the chapter, or the row records a failed run. A timing file that is not valid JSON, or
    has no ``notebooks`` table, raises ``ValueError`` naming the file.

    Explained in the chapter "Welcome".
    """
    if not isinstance(chapter, str) or not chapter:
        raise ValueError(f"chapter must be a notebook name such as '05_training', got {chapter!r}")
    path = Path(times) if times is not None else timing_file()
    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"timing file {path}: cannot be read as JSON ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("notebooks"), dict):
        raise ValueError(f"timing file {path}: expected an object with a 'notebooks' table")
    row = data["notebooks"].get(chapter, {}).get("full")
    if not isinstance(row, dict) or row.get("status") != "ok":
        return None
    seconds = row.get("seconds")
    if not isinstance(seconds, numbers.Real) or not math.isfinite(seconds) or seconds < 0:
        return None
    machine = data.get("machine", {}) if isinstance(data.get("machine"), dict) else {}
    return {
        "seconds": float(seconds),
        "measured": str(row.get("measured", machine.get("date", ""))),
        "cpu_cores": machine.get("cpu_cores"),
        "gpu": machine.get("gpu"),
    }


def _duration(seconds: float) -> str:
    if seconds < 60:
        return "under a minute"
    minutes = seconds / 60
    if minutes < 1.5:
        return "about a minute"
    return f"about {round(minutes)} minutes"


class ChapterBox:
    """The "In this chapter" box: key ideas and the measured run time; displays as HTML.

    ``ideas`` are plain sentences (no Markdown or math: the box is HTML). ``run_time`` is what
    :func:`chapter_run_time` returned. ``text()`` gives the same content as plain text.

    Explained in the chapter "Welcome".
    """

    def __init__(self, chapter: str, ideas: Sequence[str], run_time: dict | None):
        self.chapter = chapter
        self.ideas = list(ideas)
        self.run_time = run_time

    def time_sentence(self) -> str | None:
        """The run-time sentence, or None when no time was measured."""
        rt = self.run_time
        if rt is None:
            return None
        cores = rt.get("cpu_cores")
        where = f"a {cores}-core CPU" if isinstance(cores, int) and cores > 0 else "a CPU"
        if rt.get("gpu"):
            where = f"a {rt['gpu']} GPU"
        date = rt["measured"][:10]
        return (f"Running every cell at full size takes {_duration(rt['seconds'])} "
                f"({rt['seconds']:.0f} s on {where}{', measured ' + date if date else ''}); "
                "a GPU shortens the long training cells.")

    def text(self) -> str:
        """The box as plain text."""
        lines = ["In this chapter"] + [f"- {idea}" for idea in self.ideas]
        sentence = self.time_sentence()
        if sentence:
            lines.append(sentence)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(idea)}</li>" for idea in self.ideas)
        sentence = self.time_sentence()
        timing = f'<p class="gc-run-time">{html.escape(sentence)}</p>' if sentence else ""
        return (
            '<div class="admonition tip gc-chapter-box">'
            '<p class="admonition-title">In this chapter</p>'
            f"<ul>{items}</ul>{timing}</div>"
        )

    def __repr__(self) -> str:
        return self.text()


def in_this_chapter(chapter: str, ideas: Sequence[str], times: str | Path | None = None) -> ChapterBox:
    """The box that opens a chapter: its key ideas and its measured full-size run time.

    Call it as the last line of a ``remove-input`` cell right after the chapter's title::

        in_this_chapter("05_training", ["Why the two networks take turns", ...])

    ``chapter`` is the notebook's name without ``.ipynb``; ``ideas`` two to six plain sentences.

    Explained in the chapter "Welcome".
    """
    if isinstance(ideas, str) or not isinstance(ideas, Sequence):
        raise TypeError(f"ideas must be a list of sentences, got {type(ideas).__name__}")
    cleaned = [idea.strip() for idea in ideas if isinstance(idea, str)]
    if len(cleaned) != len(ideas) or not cleaned or any(not idea for idea in cleaned):
        raise ValueError("ideas must be a non-empty list of non-empty sentences")
    return ChapterBox(chapter, cleaned, chapter_run_time(chapter, times))


def glue(name: str, value: Any) -> Any:
    """Make ``value`` available to the page's prose under ``name``, and return it.

    In the built book a Markdown cell writes ``{glue:text}`name``` (or ``{glue:text}`name:.2f``` to
    format a number) and shows the value computed here; nothing is displayed where ``glue`` is
    called. Without MyST-NB (Colab, a bare Jupyter) the value is only kept in :data:`GLUED`.
    Numbers must be finite: a NaN in a sentence is a bug to catch at build time.

    Explained in the chapter "Welcome".
    """
    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"glue name must be letters, digits, '_' or '-', got {name!r}")
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()  # 0-d tensors and numpy scalars become Python numbers
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"glue {name!r}: the value is {value}, not a finite number")
        value = float(value) if not isinstance(value, numbers.Integral) else int(value)
    GLUED[name] = value
    try:
        from myst_nb import glue as _myst_glue
    except ImportError:
        return value
    _myst_glue(name, value, display=False)
    return value
