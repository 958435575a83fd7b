"""Check-your-understanding quizzes that work in the book, in JupyterLab and in Colab.

One call shows a chapter's questions::

    from gancourse.quiz import quiz
    quiz("gan_anatomy")

The questions are data, shipped with the package: one JSON *bank* per chapter in
``gancourse/quiz_banks/<key>.json``, where ``<key>`` is the name given to :func:`quiz`.

How one call works in three places
----------------------------------
:func:`quiz` returns a :class:`Quiz`. When a Jupyter kernel displays it, it sends **one output
holding two renderings of the same quiz**:

- ``application/vnd.jupyter.widget-view+json``: an ipywidgets quiz (radio buttons, checkboxes, a text
  box, a *Check* button per question, the feedback and a running score), graded in Python by
  :func:`grade`;
- ``text/html``: a self-contained HTML form with an inline ``<script>`` that grades the same answers
  in the browser, with no kernel, using the same rules and the same sentences (:data:`TEXT`).

Each front end picks the rendering it can run:

1. **The static book** (Jupyter Book 1 / MyST-NB). MyST-NB keeps a single MIME type per output and by
   default ranks the widget view first, which would give a dead widget with no kernel behind it.
   The book's ``_config.yml`` therefore sets ``nb_mime_priority_overrides`` so that ``text/html``
   wins for the HTML builders. MyST-NB writes ``text/html`` into the page as a raw node, so the
   ``<script>`` runs as is (checked in the built page and in headless Chromium).
2. **JupyterLab** (and Notebook 7, built on it) ranks the widget view above HTML, so readers get
   the live widget and Python does the grading (checked in JupyterLab 4 in headless Chromium).
3. **Google Colab** (ipywidgets 7.7.1). Here only the widget is displayed, through ipywidgets' own
   display path, so nothing depends on how Colab ranks MIME types. The widget code uses only
   APIs that exist in ipywidgets 7 and 8 (``tests/test_colab.py`` checks the list); it was run
   with ipywidgets 7.7.1 in Jupyter Notebook 6.5, whose widget front end is ipywidgets 7's.

Why not jupyterquiz? Its HTML+JavaScript output would show in all three places, but its 2.9 sources
show that it grades each click at once (no *Check* button, so a "select all that apply" question is
never graded as a whole), keeps no score across a quiz, has no live-kernel (ipywidgets) mode, and
draws its element ids from Python's global ``random``, which shifts the random stream of the chapter
that shows the quiz. Here ids come from :mod:`uuid`.

Question kinds and grading
--------------------------
``true_false`` and ``single``: one right choice; the answer is a choice index (or its text; for
``true_false`` also ``True``/``False``). ``multiple`` ("select all that apply"): the answer is a
collection of indices and is right only when it is exactly the set of right choices; a partly
right answer says how many right choices were ticked and how many wrong ones. ``numeric``: the
answer is a number (``0.5``, ``"0.5"``, ``"50%"``, ``"0,5"``) and is right within ``tolerance``.
Every choice carries its own explanation, shown when it is chosen; numeric questions carry one
explanation for right answers and one for wrong ones. An empty answer is not graded and does not
count. The running score counts each question's *first* checked answer.

Adding a bank for a chapter
---------------------------
1. Write ``gancourse/quiz_banks/<key>.json`` (``<key>``: lower case, digits and ``_``)::

       {
         "title": "Chapter title",
         "questions": [
           {"id": "short-id", "kind": "single", "prompt": "...",
            "choices": [{"text": "...", "correct": true,  "explanation": "..."},
                        {"text": "...", "correct": false, "explanation": "..."}]},
           {"id": "other-id", "kind": "true_false", "prompt": "True or false: ...",
            "choices": [{"text": "True",  "correct": false, "explanation": "..."},
                        {"text": "False", "correct": true,  "explanation": "..."}]},
           {"id": "a-number", "kind": "numeric", "prompt": "...", "answer": 0.5, "tolerance": 0.01,
            "explanation": {"right": "...", "wrong": "..."}}
         ]
       }

   Choices are shown in the order written: vary where the right answer sits.
2. Call ``quiz("<key>")`` in the chapter's notebook, in a cell tagged ``remove-input``.
3. Run ``pytest tests/test_quiz.py``: every shipped bank is loaded and validated there. A bank with
   no right answer, a duplicate id, a missing explanation, an unknown kind or field, or a bad
   tolerance raises :class:`QuizBankError` naming the bank and the question.

Explained in the chapter "Check your understanding: GAN anatomy".
"""

from __future__ import annotations

import html
import json
import math
import re
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "KINDS",
    "STYLES",
    "TEXT",
    "Bank",
    "Choice",
    "Feedback",
    "Question",
    "Quiz",
    "QuizBankError",
    "QuizWidget",
    "QuestionWidget",
    "Score",
    "available_banks",
    "bank_from_dict",
    "feedback_html",
    "grade",
    "load_bank",
    "parse_number",
    "quiz",
]

#: The question kinds a bank may use.
KINDS = ("true_false", "single", "multiple", "numeric")

#: What a question asks of the reader: ``check`` an idea of the chapter, ``predict`` the outcome of
#: the next cell before running it (shown in place, before that cell, by naming it in
#: ``quiz(bank, questions=[...])``), or read a ``figure`` that the chapter computed (passed to
#: ``quiz(..., figures={id: fig})`` and shown inside the question, with the bank's ``figure_alt``).
STYLES = ("check", "predict", "figure")

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

_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_BANK_FOLDER = "quiz_banks"  # inside the gancourse package
_KEY_RE = re.compile(r"^[a-z0-9_]+$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# Slack added to every numeric tolerance, identical in Python and JavaScript.
_NUMERIC_SLACK = 1e-9


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------


class QuizBankError(ValueError):
    """A quiz bank that cannot be used; the message names the bank and the question.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """


@dataclass(frozen=True)
class Choice:
    """One choice of a ``true_false``, ``single`` or ``multiple`` question.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """

    text: str
    correct: bool
    explanation: str


@dataclass(frozen=True)
class Question:
    """One question of a bank.

    Choice kinds use ``choices``; ``numeric`` uses ``answer``, ``tolerance``, ``right_explanation``
    and ``wrong_explanation``. ``style`` is one of :data:`STYLES`: ``"check"`` (the default),
    ``"predict"`` (asked before the cell that answers it) or ``"figure"`` (shown with a figure
    computed in the chapter, whose alt text is ``figure_alt``).

    Explained in the chapter "Check your understanding: GAN anatomy".
    """

    id: str
    kind: str
    prompt: str
    choices: tuple[Choice, ...] = ()
    answer: float | None = None
    tolerance: float | None = None
    right_explanation: str = ""
    wrong_explanation: str = ""
    style: str = "check"
    figure_alt: str = ""

    @property
    def right_indices(self) -> tuple[int, ...]:
        """Indices of the right choices (empty for numeric questions)."""
        return tuple(i for i, c in enumerate(self.choices) if c.correct)


@dataclass(frozen=True)
class Bank:
    """A chapter's questions: ``key`` (the file name), ``title`` and ``questions``.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """

    key: str
    title: str
    questions: tuple[Question, ...]

    def __len__(self) -> int:
        return len(self.questions)

    def question(self, qid: str) -> Question:
        """The question whose id is ``qid``."""
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(f"quiz bank {self.key!r} has no question {qid!r}")


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


# --------------------------------------------------------------------------------------------------
# Loading and validating banks
# --------------------------------------------------------------------------------------------------

_BANK_FIELDS = {"title", "questions"}
_STYLE_FIELDS = {"style", "figure_alt"}
_CHOICE_QUESTION_FIELDS = {"id", "kind", "prompt", "choices"} | _STYLE_FIELDS
_NUMERIC_QUESTION_FIELDS = {"id", "kind", "prompt", "answer", "tolerance", "explanation"} | _STYLE_FIELDS
_CHOICE_FIELDS = {"text", "correct", "explanation"}


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _real_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _parse_choices(raw: Any, kind: str, fail) -> tuple[Choice, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        fail("'choices' must be a list of at least two choices")
    choices = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            fail(f"choice {n} must be an object with text, correct and explanation")
        unknown = set(item) - _CHOICE_FIELDS
        if unknown:
            fail(f"choice {n} has unknown field(s) {', '.join(sorted(unknown))}")
        text = item.get("text")
        if not _nonempty_str(text):
            fail(f"choice {n} has no text")
        if not isinstance(item.get("correct"), bool):
            fail(f"choice {n} ({text!r}) needs 'correct': true or false")
        if not _nonempty_str(item.get("explanation")):
            fail(f"choice {n} ({text!r}) has no explanation")
        choices.append(Choice(text=text.strip(), correct=item["correct"], explanation=item["explanation"].strip()))
    texts = [c.text for c in choices]
    if len(set(texts)) != len(texts):
        fail("two choices have the same text")
    n_right = sum(c.correct for c in choices)
    if n_right == 0:
        fail("no right answer: mark at least one choice 'correct': true")
    if kind in ("true_false", "single") and n_right > 1:
        fail(f"{n_right} right answers, but a {kind!r} question has exactly one (use kind 'multiple')")
    if kind == "true_false" and sorted(texts) != ["False", "True"]:
        fail("a 'true_false' question has exactly two choices, 'True' and 'False'")
    return tuple(choices)


def _parse_question(chapter: str, number: int, raw: Any, seen: set[str]) -> Question:
    qid = raw.get("id") if isinstance(raw, Mapping) else None
    where = f"question {qid!r}" if _nonempty_str(qid) else f"question #{number} (no id)"

    def fail(problem: str):
        raise QuizBankError(f"quiz bank {chapter!r}, {where}: {problem}")

    if not isinstance(raw, Mapping):
        fail("must be an object")
    if not _nonempty_str(qid):
        fail("has no 'id'")
    if qid in seen:
        fail("duplicate id (each question id must be unique within its bank)")
    kind = raw.get("kind")
    if kind not in KINDS:
        fail(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    allowed = _NUMERIC_QUESTION_FIELDS if kind == "numeric" else _CHOICE_QUESTION_FIELDS
    unknown = set(raw) - allowed
    if unknown:
        fail(f"unknown field(s) for a {kind!r} question: {', '.join(sorted(unknown))}")
    if not _nonempty_str(raw.get("prompt")):
        fail("has no prompt")
    prompt = raw["prompt"].strip()
    style = raw.get("style", "check")
    if style not in STYLES:
        fail(f"unknown style {style!r} (expected one of {', '.join(STYLES)})")
    figure_alt = raw.get("figure_alt", "")
    if style == "figure" and not _nonempty_str(figure_alt):
        fail("a 'figure' question needs 'figure_alt': the alt text of the figure it shows")
    if style != "figure" and "figure_alt" in raw:
        fail("'figure_alt' belongs only to questions of style 'figure'")
    figure_alt = figure_alt.strip()
    if kind != "numeric":
        return Question(id=qid, kind=kind, prompt=prompt, choices=_parse_choices(raw.get("choices"), kind, fail),
                        style=style, figure_alt=figure_alt)
    if not _real_number(raw.get("answer")):
        fail("a numeric question needs a finite number as 'answer'")
    tolerance = raw.get("tolerance")
    if not _real_number(tolerance) or tolerance < 0:
        fail(f"bad tolerance {tolerance!r}: it must be a finite number >= 0")
    explanation = raw.get("explanation")
    if not isinstance(explanation, Mapping) or set(explanation) - {"right", "wrong"}:
        fail("a numeric question needs 'explanation': {\"right\": ..., \"wrong\": ...}")
    for side in ("right", "wrong"):
        if not _nonempty_str(explanation.get(side)):
            fail(f"missing explanation for a {side} answer")
    return Question(
        id=qid,
        kind=kind,
        prompt=prompt,
        answer=float(raw["answer"]),
        tolerance=float(tolerance),
        right_explanation=explanation["right"].strip(),
        wrong_explanation=explanation["wrong"].strip(),
        style=style,
        figure_alt=figure_alt,
    )


def bank_from_dict(chapter: str, data: Any) -> Bank:
    """Validate a bank given as a dict (the parsed JSON) and return it as a :class:`Bank`.

    Raises :class:`QuizBankError`, whose message names ``chapter`` and the faulty question's id, for:
    no right answer, more than one right answer in a single-answer question, a duplicate id, a
    missing explanation, an unknown kind or field, or a bad (negative or non-finite) tolerance.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    if not isinstance(data, Mapping):
        raise QuizBankError(f"quiz bank {chapter!r}: must be a JSON object with 'title' and 'questions'")
    unknown = set(data) - _BANK_FIELDS
    if unknown:
        raise QuizBankError(f"quiz bank {chapter!r}: unknown field(s) {', '.join(sorted(unknown))}")
    if not _nonempty_str(data.get("title")):
        raise QuizBankError(f"quiz bank {chapter!r}: has no 'title'")
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise QuizBankError(f"quiz bank {chapter!r}: 'questions' must be a non-empty list")
    seen: set[str] = set()
    questions = []
    for number, raw in enumerate(raw_questions, start=1):
        question = _parse_question(chapter, number, raw, seen)
        seen.add(question.id)
        questions.append(question)
    return Bank(key=chapter, title=data["title"].strip(), questions=tuple(questions))


def available_banks() -> list[str]:
    """The keys of the banks shipped with gancourse, e.g. ``["gan_anatomy", "generative_models"]``.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    folder = resources.files("gancourse") / _BANK_FOLDER
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


@lru_cache(maxsize=None)
def _load_shipped(key: str) -> Bank:
    path = resources.files("gancourse") / _BANK_FOLDER / f"{key}.json"
    if not path.is_file():
        raise KeyError(f"no quiz bank {key!r}; the shipped banks are: {', '.join(available_banks())}")
    return _bank_from_text(key, path.read_text(encoding="utf-8"))


def _bank_from_text(key: str, text: str) -> Bank:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise QuizBankError(f"quiz bank {key!r}: not valid JSON ({err})") from err
    return bank_from_dict(key, data)


def load_bank(chapter: str | Path) -> Bank:
    """Load and validate a bank: a shipped one by its key (``"gan_anatomy"``) or a ``.json`` file.

    For a file, the key is the file name without ``.json``. See :func:`bank_from_dict` for the
    checks.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    if isinstance(chapter, Path) or str(chapter).endswith(".json"):
        path = Path(chapter)
        return _bank_from_text(path.stem, path.read_text(encoding="utf-8"))
    if not isinstance(chapter, str) or not _KEY_RE.match(chapter):
        raise KeyError(f"a quiz bank key uses lower-case letters, digits and '_', got {chapter!r}")
    return _load_shipped(chapter)


# --------------------------------------------------------------------------------------------------
# Grading (pure functions)
# --------------------------------------------------------------------------------------------------


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

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    if question.kind == "numeric":
        x = parse_number(answer)
        if x is None:
            return Feedback(False, TEXT["need_number"], answered=False)
        correct = abs(x - question.answer) <= question.tolerance + _NUMERIC_SLACK
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


# --------------------------------------------------------------------------------------------------
# HTML shared by both renderings
# --------------------------------------------------------------------------------------------------

# Okabe-Ito blue and vermillion for borders and tints, darker shades of the same two hues for the
# verdict's text (contrast above 6:1 on white), sky blue and orange on JupyterLab's dark themes: told
# apart with any colour vision, and the verdict is always written in words as well. (The book's dark
# mode keeps notebook outputs on a light background, so it needs no rule of its own.)
_CSS = """
.gcq{margin:1em 0;line-height:1.5}
.gcq .gcq-intro{margin:0 0 .8em}
.gcq form{margin:0 0 1em}
.gcq fieldset{border:1px solid rgba(127,127,127,.5);border-radius:6px;padding:.5em 1em .8em;margin:0;min-width:0}
.gcq legend{float:none;width:auto;font-size:1em;font-weight:600;padding:0 .35em;margin:0}
.gcq .gcq-prompt{margin:.1em 0 .6em}
.gcq .gcq-choice{display:flex;align-items:baseline;gap:.55em;margin:.3em 0;cursor:pointer}
.gcq .gcq-choice input{margin:0;flex:none}
.gcq .gcq-number label{margin-right:.5em}
.gcq .gcq-number input{font:inherit;padding:.15em .4em;max-width:12em}
.gcq .gcq-check{font:inherit;margin-top:.6em;padding:.2em 1.2em;border:1px solid currentColor;border-radius:4px}
.gcq .gcq-check{background:transparent;color:inherit;cursor:pointer}
.gcq .gcq-check:disabled{opacity:.5;cursor:default}
.gcq input:focus-visible,.gcq .gcq-check:focus-visible{outline:3px solid #0072B2;outline-offset:2px}
.gcq .gcq-feedback:empty{display:none}
.gcq .gcq-feedback{margin-top:.6em;padding:.35em .8em;border-left:5px solid rgba(127,127,127,.6)}
.gcq .gcq-feedback p{margin:.2em 0}
.gcq .gcq-right{border-left-color:#0072B2;background:rgba(0,114,178,.09)}
.gcq .gcq-wrong{border-left-color:#D55E00;background:rgba(213,94,0,.09)}
.gcq .gcq-right .gcq-verdict{color:#005A8C}
.gcq .gcq-wrong .gcq-verdict{color:#A33F00}
.gcq .gcq-score{font-weight:600;margin:.5em 0}
body[data-jp-theme-light=false] .gcq .gcq-right .gcq-verdict{color:#56B4E9}
body[data-jp-theme-light=false] .gcq .gcq-wrong .gcq-verdict{color:#E69F00}
"""

# ipywidgets gives radio and checkbox labels a fixed height and cuts long ones short; let them wrap.
# The class names are those of ipywidgets 7, which ipywidgets 8 still sets.
_WIDGET_CSS = """
.gcq .widget-radio-box label{height:auto;line-height:1.4;margin:.2em 0;white-space:normal}
.gcq .widget-checkbox{width:auto;height:auto}
.gcq .widget-checkbox .widget-label-basic{white-space:normal;overflow:visible;height:auto;line-height:1.4}
.gcq .widget-html-content{line-height:1.5}
.gcq .gcq-question{border:1px solid rgba(127,127,127,.5);border-radius:6px;padding:.3em .8em .6em;margin:0 0 .8em}
"""


def feedback_html(feedback: Feedback) -> str:
    """HTML for a :class:`Feedback`: the verdict in bold, then one paragraph per line.

    The same markup is built by the page's JavaScript in the static book.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    if not feedback.answered:
        css, body = "gcq-hint", f"<p>{html.escape(feedback.message)}</p>"
    else:
        css = "gcq-right" if feedback.correct else "gcq-wrong"
        first, *rest = feedback.lines
        body = f'<p><strong class="gcq-verdict">{html.escape(first)}</strong></p>'
        body += "".join(f"<p>{html.escape(line)}</p>" for line in rest)
    return f'<div class="gcq-feedback {css}" role="status">{body}</div>'


def _question_header(number: int, total: int) -> str:
    return f"Question {number} of {total}"


# --------------------------------------------------------------------------------------------------
# The static rendering: HTML + JavaScript, no kernel needed
# --------------------------------------------------------------------------------------------------

# Plain ES5 so that any browser runs it; every rule mirrors grade(), Score and feedback_html().
_SCRIPT = r"""
(function () {
  "use strict";
  var root = document.getElementById("__ROOT_ID__");
  if (!root || root.getAttribute("data-gcq-ready") === "1") { return; }
  var data = JSON.parse(root.querySelector("script.gcq-data").textContent);
  var T = data.text, questions = data.questions, firstTry = {};
  var NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
    });
  }
  function parseNumber(raw) {
    var s = String(raw).trim(), percent = false;
    if (s.slice(-1) === "%") { percent = true; s = s.slice(0, -1).trim(); }
    if (s.indexOf(".") < 0 && s.split(",").length === 2) { s = s.replace(",", "."); }
    if (!NUMBER.test(s)) { return null; }
    var x = parseFloat(s);
    if (percent) { x = x / 100; }
    return isFinite(x) ? x : null;
  }
  function verdict(ok) { return ok ? T.right : T.wrong; }
  function grade(q, form) {
    var i;
    if (q.kind === "numeric") {
      var x = parseNumber(form.querySelector("input").value);
      if (x === null) { return {answered: false, correct: false, lines: [T.need_number]}; }
      var ok = Math.abs(x - q.answer) <= q.tolerance + data.slack;
      return {answered: true, correct: ok, lines: [verdict(ok), ok ? q.right : q.wrong]};
    }
    var inputs = form.querySelectorAll("input"), chosen = [];
    for (i = 0; i < inputs.length; i++) {
      if (inputs[i].checked) { chosen.push(parseInt(inputs[i].value, 10)); }
    }
    chosen.sort(function (a, b) { return a - b; });
    if (q.kind !== "multiple") {
      if (!chosen.length) { return {answered: false, correct: false, lines: [T.choose_one]}; }
      var c = q.choices[chosen[0]];
      return {answered: true, correct: c.correct, lines: [verdict(c.correct), c.explanation]};
    }
    if (!chosen.length) { return {answered: false, correct: false, lines: [T.choose_some]}; }
    var nRight = 0, hit = 0, extra = 0;
    for (i = 0; i < q.choices.length; i++) { if (q.choices[i].correct) { nRight++; } }
    for (i = 0; i < chosen.length; i++) { if (q.choices[chosen[i]].correct) { hit++; } else { extra++; } }
    var correct = hit === nRight && extra === 0, lines = [verdict(correct)];
    if (!correct) { lines.push(fill(T.partial, {hit: hit, right: nRight, extra: extra})); }
    for (i = 0; i < chosen.length; i++) {
      var ch = q.choices[chosen[i]];
      lines.push(fill(T.choice_note, {text: ch.text, explanation: ch.explanation}));
    }
    return {answered: true, correct: correct, lines: lines};
  }
  function show(box, fb) {
    box.className = "gcq-feedback " + (!fb.answered ? "gcq-hint" : (fb.correct ? "gcq-right" : "gcq-wrong"));
    while (box.firstChild) { box.removeChild(box.firstChild); }
    for (var i = 0; i < fb.lines.length; i++) {
      var p = document.createElement("p");
      if (i === 0 && fb.answered) {
        var strong = document.createElement("strong");
        strong.className = "gcq-verdict";
        strong.textContent = fb.lines[0];
        p.appendChild(strong);
      } else {
        p.textContent = fb.lines[i];
      }
      box.appendChild(p);
    }
  }
  var scoreLine = root.querySelector(".gcq-score");
  function updateScore() {
    var checked = 0, right = 0;
    for (var k in firstTry) {
      if (Object.prototype.hasOwnProperty.call(firstTry, k)) { checked++; if (firstTry[k]) { right++; } }
    }
    scoreLine.textContent = checked ? fill(T.score, {right: right, checked: checked, total: questions.length})
                                    : fill(T.score_none, {total: questions.length});
  }
  var forms = root.querySelectorAll("form.gcq-q");
  Array.prototype.forEach.call(forms, function (form) {
    var index = parseInt(form.getAttribute("data-gcq-index"), 10);
    var box = form.querySelector(".gcq-feedback");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var fb = grade(questions[index], form);
      show(box, fb);
      if (fb.answered && !Object.prototype.hasOwnProperty.call(firstTry, index)) {
        firstTry[index] = fb.correct;
        updateScore();
      }
    });
    form.querySelector(".gcq-check").disabled = false;
  });
  var note = root.querySelector(".gcq-nojs");
  if (note) { note.parentNode.removeChild(note); }
  root.setAttribute("data-gcq-ready", "1");
})();
"""


def _json_for_script(value: Any) -> str:
    """JSON that is safe inside a <script> element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _page_data(bank: Bank) -> dict:
    questions = []
    for q in bank.questions:
        if q.kind == "numeric":
            questions.append({"kind": q.kind, "answer": q.answer, "tolerance": q.tolerance,
                              "right": q.right_explanation, "wrong": q.wrong_explanation})
        else:
            questions.append({"kind": q.kind, "choices": [
                {"text": c.text, "correct": c.correct, "explanation": c.explanation} for c in q.choices]})
    return {"text": TEXT, "slack": _NUMERIC_SLACK, "questions": questions}


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _figure_png(qid: str, figure: Any) -> bytes:
    """PNG bytes of a question's figure: a matplotlib figure (anything with ``savefig``) or PNG bytes."""
    if isinstance(figure, (bytes, bytearray)):
        if not bytes(figure).startswith(_PNG_SIGNATURE):
            raise ValueError(f"figures[{qid!r}]: bytes given, but they are not a PNG image")
        return bytes(figure)
    if not hasattr(figure, "savefig"):
        raise TypeError(f"figures[{qid!r}] must be a matplotlib figure or PNG bytes, got {type(figure).__name__}")
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return buffer.getvalue()


def _figure_html(q: Question, png: bytes | None) -> str:
    if png is None:
        return ""
    import base64

    data = base64.b64encode(png).decode("ascii")
    return (f'<figure class="gcq-figure"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(q.figure_alt)}" style="max-width:100%;height:auto"></figure>')


def _question_form(root_id: str, index: int, total: int, q: Question, png: bytes | None = None) -> str:
    esc = html.escape
    qid = f"{root_id}-q{index}"
    parts = [
        f'<form class="gcq-q" id="{qid}" data-gcq-index="{index}" data-gcq-id="{esc(q.id)}" novalidate>',
        f'<fieldset aria-describedby="{qid}-prompt">',
        f"<legend>{_question_header(index + 1, total)}</legend>",
        f'<p class="gcq-prompt" id="{qid}-prompt">{esc(q.prompt)}</p>',
        _figure_html(q, png),
    ]
    if q.kind == "numeric":
        parts.append(
            f'<div class="gcq-number"><label for="{qid}-answer">Your answer</label>'
            f'<input type="text" id="{qid}-answer" inputmode="decimal" autocomplete="off" '
            f'placeholder="for example 0.25 or 25%"></div>'
        )
    else:
        input_type = "checkbox" if q.kind == "multiple" else "radio"
        parts.append('<div class="gcq-choices">')
        for j, c in enumerate(q.choices):
            parts.append(
                f'<label class="gcq-choice" for="{qid}-c{j}"><input type="{input_type}" id="{qid}-c{j}" '
                f'name="{qid}" value="{j}"><span>{esc(c.text)}</span></label>'
            )
        parts.append("</div>")
    parts.append('<button type="submit" class="gcq-check" disabled>Check</button>')
    parts.append('<div class="gcq-feedback" role="status" aria-live="polite"></div>')
    parts.append("</fieldset></form>")
    return "".join(parts)


def _static_html(bank: Bank, root_id: str, figures: Mapping[str, bytes] | None = None) -> str:
    total = len(bank.questions)
    figures = figures or {}
    forms = "\n".join(_question_form(root_id, i, total, q, figures.get(q.id)) for i, q in enumerate(bank.questions))
    return (
        f'<div class="gcq" id="{root_id}" data-gcq-bank="{html.escape(bank.key)}">\n'
        f"<style>{_CSS}</style>\n"
        f'<p class="gcq-intro">{html.escape(TEXT["intro"].format(total=total))}</p>\n'
        f'<p class="gcq-nojs"><em>{html.escape(TEXT["no_js"])}</em></p>\n'
        f"{forms}\n"
        f'<p class="gcq-score" role="status" aria-live="polite">{html.escape(Score(total).text())}</p>\n'
        f'<script type="application/json" class="gcq-data">{_json_for_script(_page_data(bank))}</script>\n'
        f"<script>{_SCRIPT.replace('__ROOT_ID__', root_id)}</script>\n"
        "</div>"
    )


def _new_dom_id() -> str:
    # uuid4 reads os.urandom: Python's global `random` stream is left untouched.
    return f"gcq-{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------------------------------
# The live rendering: ipywidgets (APIs common to ipywidgets 7 and 8 only)
# --------------------------------------------------------------------------------------------------


def _widgets():
    """The ipywidgets module, imported only when a live quiz is built."""
    import ipywidgets

    return ipywidgets


class QuestionWidget:
    """The live widget for one question: its input(s), a Check button and the feedback.

    ``control`` is a ``RadioButtons`` (choice kinds), a ``VBox`` of the ``checkboxes``
    (``multiple``) or a ``Text`` box (``numeric``); ``button`` checks the answer and ``feedback``
    (an ``HTML`` widget) shows the verdict and the explanation.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """

    def __init__(self, question: Question, index: int, total: int, on_checked=None, png: bytes | None = None):
        w = _widgets()
        self.question = question
        self.index = index
        self._on_checked = on_checked
        self.checkboxes: list = []
        self.prompt = w.HTML(
            value=f"<p><strong>{_question_header(index + 1, total)}</strong></p>"
            f"<p>{html.escape(question.prompt)}</p>{_figure_html(question, png)}"
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
        w = _widgets()
        total = len(bank.questions)
        figures = figures or {}
        self.bank = bank
        self.score = Score(total)
        self.header = w.HTML(
            value=f"<style>{_CSS}{_WIDGET_CSS}</style>"
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


# --------------------------------------------------------------------------------------------------
# The one call
# --------------------------------------------------------------------------------------------------


def _in_colab() -> bool:
    return "google.colab" in sys.modules


class Quiz:
    """A chapter's quiz, ready to display; see the module docstring for how it is shown where.

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
        return _static_html(self.bank, dom_id or _new_dom_id(), self.figures)

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
    return Quiz(bank, {qid: _figure_png(qid, fig) for qid, fig in figures.items()})
