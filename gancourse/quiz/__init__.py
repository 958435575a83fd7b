"""Check-your-understanding quizzes that work in the book, in JupyterLab and in Colab.

One call shows a chapter's questions::

    from gancourse.quiz import quiz
    quiz("gan_anatomy")

The questions are data: one JSON bank per chapter in ``gancourse/quiz_banks/`` (how to write one:
``gancourse/quiz_banks/README.md``). The package holds one idea per module:

- :mod:`gancourse.quiz.bank`     the banks: data model, loading, validation against ``bank.schema.json``
- :mod:`gancourse.quiz.grading`  grading an answer and keeping the score, as pure functions
- :mod:`gancourse.quiz.page`     the static HTML form, graded in the browser by ``quiz.js``
- :mod:`gancourse.quiz.widget`   the live ipywidgets quiz, graded in Python
- here                           :func:`quiz` and :class:`Quiz`, which choose the rendering

How one call works in three places: a Jupyter kernel displays a :class:`Quiz` as **one output
holding both renderings**, the widget view and the ``text/html`` form. The static book (MyST-NB,
with ``nb_mime_priority_overrides`` in ``_config.yml``) keeps the HTML, whose script runs in the
page; JupyterLab and Notebook 7 rank the widget first, so readers get the live widget; Colab
(ipywidgets 7.7.1) is sent the widget alone, through ipywidgets' own display path.

Why not jupyterquiz? It grades each click at once (no *Check* button, so "select all that apply"
is never graded as a whole), keeps no score, has no live-kernel mode, and draws its element ids
from Python's global ``random``, which shifts the random stream of the chapter that shows it. Here
ids come from :mod:`uuid`.

Explained in the chapter "Check your understanding: GAN anatomy".
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# The modules' names are importable from the package too, as chapters and tests do
# (``from gancourse.quiz import grade``); each is documented once, in its module.
from gancourse.quiz.bank import (  # noqa: F401
    KINDS,
    STYLES,
    Bank,
    Choice,
    Question,
    QuizBankError,
    available_banks,
    bank_from_dict,
    load_bank,
)
from gancourse.quiz.grading import TEXT, Feedback, Score, grade, parse_number  # noqa: F401
from gancourse.quiz.page import feedback_html, figure_png, new_dom_id, static_html  # noqa: F401
from gancourse.quiz.widget import QuestionWidget, QuizWidget  # noqa: F401

__all__ = ["Quiz", "quiz"]

_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _in_colab() -> bool:
    return "google.colab" in sys.modules


class Quiz:
    """A chapter's quiz, ready to display; see the package docstring for how it is shown where.

    ``to_html()`` gives the static HTML+JavaScript rendering (fresh element ids on every call),
    ``widget`` the live :class:`QuizWidget` (built on first use), ``mimebundle()`` the output that
    a Jupyter kernel sends.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """

    def __init__(self, bank: Bank, figures: Mapping[str, bytes] | None = None):
        self.bank = bank
        self.figures = dict(figures or {})
        self._widget: QuizWidget | None = None

    @property
    def widget(self) -> QuizWidget:
        """The live ipywidgets quiz (created once, on first use)."""
        if self._widget is None:
            self._widget = QuizWidget(self.bank, self.figures)
        return self._widget

    def to_html(self, dom_id: str | None = None) -> str:
        """The self-contained HTML+JavaScript quiz, with unique element ids unless ``dom_id`` is given."""
        if dom_id is not None and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", dom_id):
            raise ValueError(f"dom_id must be a plain HTML id (letters, digits, '-', '_'), got {dom_id!r}")
        return static_html(self.bank, dom_id or new_dom_id(), self.figures)

    def __repr__(self) -> str:
        return f"<gancourse quiz {self.bank.key!r}: {self.bank.title}, {len(self.bank)} questions>"

    def mimebundle(self) -> dict[str, Any]:
        """The output for a Jupyter kernel: plain text, the static HTML and the live widget view."""
        return {
            "text/plain": repr(self),
            "text/html": self.to_html(),
            _WIDGET_MIME: {"version_major": 2, "version_minor": 0, "model_id": self.widget.box.model_id},
        }

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.mimebundle()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if _in_colab():
            display(self.widget.box)  # ipywidgets' own path: the surest one in Colab
        else:
            display(self.mimebundle(), raw=True)


def quiz(
    chapter: str | Path | Bank,
    questions: Iterable[str] | None = None,
    figures: Mapping[str, Any] | None = None,
) -> Quiz:
    """Show a chapter's questions: ``quiz("gan_anatomy")`` as the last line of a notebook cell.

    In JupyterLab and Colab it becomes a live ipywidgets quiz; in the static book, an HTML quiz that
    grades in the browser. ``chapter`` is a bank key (see :func:`available_banks`), a path to a
    ``.json`` bank, or a :class:`Bank`.

    ``questions`` picks some of the bank's questions by id, in the order given: a *predict*
    question is shown this way just before the cell that answers it. Without ``questions`` the quiz
    shows every question of the bank except the ``predict`` ones (asked earlier in the chapter).

    ``figures`` maps the id of each ``figure`` question shown to the figure it asks about (a
    matplotlib figure the chapter drew, or PNG bytes); it appears inside the question with the
    bank's alt text. A figure question shown without its figure, or a figure for a question that
    is not shown or is not a figure question, is an error.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    bank = chapter if isinstance(chapter, Bank) else load_bank(chapter)
    if questions is not None:
        if isinstance(questions, str):
            raise TypeError(f"questions must be a list of question ids, not the single string {questions!r}")
        wanted = list(questions)
        unknown = [qid for qid in wanted if qid not in {q.id for q in bank.questions}]
        if unknown or not wanted:
            raise ValueError(f"questions must name questions of the bank {bank.key!r}: unknown ids {unknown}, "
                             f"known ids {[q.id for q in bank.questions]}" if unknown else
                             f"questions is empty: name at least one question of the bank {bank.key!r}")
        bank = Bank(bank.key, bank.title, tuple(bank.question(qid) for qid in wanted))
    else:
        kept = tuple(q for q in bank.questions if q.style != "predict")
        if not kept:
            raise ValueError(f"quiz bank {bank.key!r} has only 'predict' questions: name them with questions=[...]")
        bank = Bank(bank.key, bank.title, kept)
    figures = dict(figures or {})
    shown = {q.id: q for q in bank.questions}
    stray = [qid for qid in figures if qid not in shown or shown[qid].style != "figure"]
    if stray:
        raise ValueError(f"figures given for {stray}, which are not figure questions shown in this quiz of "
                         f"{bank.key!r} (shown: {list(shown)})")
    missing = [q.id for q in bank.questions if q.style == "figure" and q.id not in figures]
    if missing:
        raise ValueError(f"quiz {bank.key!r}: the figure question(s) {missing} need their figure: "
                         "pass figures={id: matplotlib figure}")
    return Quiz(bank, {qid: figure_png(qid, fig) for qid, fig in figures.items()})
