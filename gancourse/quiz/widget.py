"""The live rendering: an ipywidgets quiz, graded in Python by :func:`gancourse.quiz.grading.grade`.

Only APIs that exist in both ipywidgets 7 (the version Google Colab ships) and ipywidgets 8 are
used; ``IPYWIDGETS7_API`` in ``tests/test_colab.py`` lists them, for this module and for
:mod:`gancourse.explorer`, which builds its widgets with the same :func:`widgets_module`.

Explained in the chapter "Check your understanding: GAN anatomy".
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from gancourse.quiz.bank import Bank, Question
from gancourse.quiz.grading import TEXT, Feedback, Score, grade
from gancourse.quiz.page import feedback_html, figure_html, question_header, stylesheet

__all__ = ["QuestionWidget", "QuizWidget", "widgets_module"]


def widgets_module():
    """The ipywidgets module, imported only when a live widget is built.

    The quiz and the explorer keep their logic free of ipywidgets, so that it runs (and is tested)
    without a display; only the classes that draw call this.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - ipywidgets is a dependency
        raise ImportError("live widgets need ipywidgets: pip install ipywidgets") from err
    return ipywidgets


class QuestionWidget:
    """The live widget for one question: its input(s), a Check button and the feedback.

    ``control`` is a ``RadioButtons`` (choice kinds), a ``VBox`` of the ``checkboxes``
    (``multiple``) or a ``Text`` box (``numeric``); ``button`` checks the answer and ``feedback``
    (an ``HTML`` widget) shows the verdict and the explanation.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """

    def __init__(self, question: Question, index: int, total: int, on_checked=None, png: bytes | None = None):
        w = widgets_module()
        self.question = question
        self.index = index
        self._on_checked = on_checked
        self.checkboxes: list = []
        self.prompt = w.HTML(
            value=f"<p><strong>{question_header(index + 1, total)}</strong></p>"
            f"<p>{html.escape(question.prompt)}</p>{figure_html(question, png)}"
        )
        if question.kind == "multiple":
            self.checkboxes = [
                w.Checkbox(value=False, description=c.text, indent=False, layout=w.Layout(width="auto"))
                for c in question.choices
            ]
            self.control = w.VBox(children=self.checkboxes)
        elif question.kind == "numeric":
            # continuous_update=False: the value reaches Python once, when the box loses focus (for
            # instance on clicking Check), so a quick click cannot overtake the last keystrokes.
            self.control = w.Text(
                value="", placeholder="for example 0.25 or 25%", description="Answer:", continuous_update=False
            )
        else:
            self.control = w.RadioButtons(
                options=[(c.text, i) for i, c in enumerate(question.choices)],
                index=None,
                layout=w.Layout(width="auto"),
            )
        self.button = w.Button(description="Check")
        self.feedback = w.HTML(value="")
        self.button.on_click(self._clicked)
        self.box = w.VBox(children=[self.prompt, self.control, self.button, self.feedback])
        self.box.add_class("gcq-question")

    def answer(self) -> Any:
        """The answer as the inputs hold it now, in the form :func:`grade` takes."""
        if self.question.kind == "multiple":
            return [i for i, box in enumerate(self.checkboxes) if box.value]
        return self.control.value

    def check(self) -> Feedback:
        """Grade the current answer, show the feedback and report it to the score."""
        feedback = grade(self.question, self.answer())
        self.feedback.value = feedback_html(feedback)
        if self._on_checked is not None:
            self._on_checked(self.index, feedback)
        return feedback

    def _clicked(self, _button) -> None:
        self.check()


class QuizWidget:
    """The live ipywidgets quiz for a bank: one :class:`QuestionWidget` per question and a score.

    ``box`` is the ``VBox`` to display; ``questions`` the question widgets; ``score`` the
    :class:`Score` and ``score_line`` the ``HTML`` widget that shows it.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """

    def __init__(self, bank: Bank, figures: Mapping[str, bytes] | None = None):
        w = widgets_module()
        total = len(bank.questions)
        figures = figures or {}
        self.bank = bank
        self.score = Score(total)
        self.header = w.HTML(
            value=f"<style>{stylesheet()}</style>"
            f'<p class="gcq-intro">{html.escape(TEXT["intro"].format(total=total))}</p>'
        )
        self.questions = [QuestionWidget(q, i, total, self._checked, figures.get(q.id))
                          for i, q in enumerate(bank.questions)]
        self.score_line = w.HTML(value=self._score_html())
        self.box = w.VBox(children=[self.header] + [q.box for q in self.questions] + [self.score_line])
        self.box.add_class("gcq")

    def _score_html(self) -> str:
        return f'<p class="gcq-score" role="status">{html.escape(self.score.text())}</p>'

    def _checked(self, index: int, feedback: Feedback) -> None:
        self.score.record(index, feedback)
        self.score_line.value = self._score_html()
