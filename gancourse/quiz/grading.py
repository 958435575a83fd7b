"""Grading answers: pure functions of a question and an answer, and the running score.

The page's JavaScript (``quiz.js``) applies the same rules with the same sentences (:data:`TEXT`), so
the static book and the live widget give the same verdict in the same words.

Explained in the chapter "Check your understanding: GAN anatomy".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gancourse.quiz.bank import Question

__all__ = ["NUMERIC_SLACK", "TEXT", "Feedback", "Score", "grade", "parse_number"]

#: Every sentence the feedback and the score use. The page's JavaScript receives this same table,
#: so the static book and the live widget say exactly the same thing.
TEXT: dict[str, str] = {
    "right": "Correct.",
    "wrong": "Not quite.",
    "choose_one": "Choose an answer, then press Check.",
    "choose_some": "Tick at least one answer, then press Check.",
    "need_number": "Type a number, such as 0.25 or 25%, then press Check.",
    "partial": "You ticked {hit} of the {right} right answers, and {extra} wrong.",
    "choice_note": "\u201c{text}\u201d: {explanation}",
    "score_none": "Score: no answers checked yet ({total} questions).",
    "score": "Score: {right} of {checked} right at the first try ({total} questions).",
    "intro": "{total} questions. Answer one, press Check, and read why.",
    "no_js": "Checking answers needs JavaScript: open this page in a browser with JavaScript "
    "turned on, or run the notebook.",
}

#: Slack added to every numeric tolerance, identical in Python and JavaScript (the page receives it).
NUMERIC_SLACK = 1e-9

_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer.

    ``correct`` says whether it was right; ``message`` is what the reader sees, one paragraph per
    line, starting with "Correct." or "Not quite."; ``answered`` is False when there was nothing to
    grade (no choice ticked, no number typed), and such a check does not count in the score.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """

    correct: bool
    message: str
    answered: bool = True

    @property
    def lines(self) -> list[str]:
        """The message's paragraphs."""
        return self.message.split("\n")


def parse_number(text: Any) -> float | None:
    """Read a typed number: ``"0.5"``, ``" .5 "``, ``"5e-1"``, ``"50%"`` and ``"0,5"`` all give 0.5.

    Returns None when ``text`` is not a number. The page's JavaScript applies the same rules.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text) if math.isfinite(text) else None
    s = str(text).strip()
    percent = s.endswith("%")
    if percent:
        s = s[:-1].strip()
    if "." not in s and s.count(",") == 1:
        s = s.replace(",", ".")
    if not _NUMBER_RE.match(s):
        return None
    x = float(s)
    if percent:
        x = x / 100
    return x if math.isfinite(x) else None


def _choice_index(question: Question, answer: Any) -> int:
    if question.kind == "true_false" and isinstance(answer, bool):
        answer = "True" if answer else "False"
    if isinstance(answer, str):
        for i, c in enumerate(question.choices):
            if c.text == answer:
                return i
        raise ValueError(f"question {question.id!r} has no choice {answer!r}")
    if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer < len(question.choices):
        return answer
    raise ValueError(f"question {question.id!r}: {answer!r} is not a choice index (0 to {len(question.choices) - 1})")


def _verdict(correct: bool) -> str:
    return TEXT["right"] if correct else TEXT["wrong"]


def grade(question: Question, answer: Any) -> Feedback:
    """Grade ``answer`` to ``question`` and return a :class:`Feedback`.

    Answers: a choice index or text for ``true_false`` (also ``True``/``False``) and ``single``; a
    collection of indices or texts for ``multiple``; a number or a typed string for ``numeric``.
    ``None``, an empty selection or an unreadable number give ``answered=False`` and a hint.

    ``true_false`` and ``single`` have one right choice. ``multiple`` ("select all that apply") is
    right only when the answer is exactly the set of right choices; a partly right answer says how
    many right choices were ticked and how many wrong ones. ``numeric`` is right within the
    question's ``tolerance`` (plus :data:`NUMERIC_SLACK`, so the edge is inclusive).

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    if question.kind == "numeric":
        x = parse_number(answer)
        if x is None:
            return Feedback(False, TEXT["need_number"], answered=False)
        correct = abs(x - question.answer) <= question.tolerance + NUMERIC_SLACK
        explanation = question.right_explanation if correct else question.wrong_explanation
        return Feedback(correct, f"{_verdict(correct)}\n{explanation}")
    if question.kind in ("true_false", "single"):
        if answer is None:
            return Feedback(False, TEXT["choose_one"], answered=False)
        choice = question.choices[_choice_index(question, answer)]
        return Feedback(choice.correct, f"{_verdict(choice.correct)}\n{choice.explanation}")
    # multiple: right only when exactly the right choices are ticked
    if answer is None or isinstance(answer, (str, bytes)) or not isinstance(answer, Iterable):
        if answer is None:
            return Feedback(False, TEXT["choose_some"], answered=False)
        raise ValueError(f"question {question.id!r}: a 'multiple' answer is a collection of choices")
    chosen = sorted({_choice_index(question, a) for a in answer})
    if not chosen:
        return Feedback(False, TEXT["choose_some"], answered=False)
    right = set(question.right_indices)
    hit = sum(i in right for i in chosen)
    extra = len(chosen) - hit
    correct = hit == len(right) and extra == 0
    lines = [_verdict(correct)]
    if not correct:
        lines.append(TEXT["partial"].format(hit=hit, right=len(right), extra=extra))
    for i in chosen:
        c = question.choices[i]
        lines.append(TEXT["choice_note"].format(text=c.text, explanation=c.explanation))
    return Feedback(correct, "\n".join(lines))


@dataclass
class Score:
    """The running score of one quiz: each question's first graded answer counts.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """

    total: int
    first_try: dict[int, bool] = field(default_factory=dict)

    def record(self, index: int, feedback: Feedback) -> None:
        """Count ``feedback`` for question ``index`` if it is that question's first graded answer."""
        if feedback.answered and index not in self.first_try:
            self.first_try[index] = feedback.correct

    @property
    def checked(self) -> int:
        """How many questions have a graded answer."""
        return len(self.first_try)

    @property
    def right(self) -> int:
        """How many questions were right at the first try."""
        return sum(self.first_try.values())

    def text(self) -> str:
        """The score line the reader sees."""
        if not self.first_try:
            return TEXT["score_none"].format(total=self.total)
        return TEXT["score"].format(right=self.right, checked=self.checked, total=self.total)
