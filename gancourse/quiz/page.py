"""The static rendering: a self-contained HTML form whose inline script grades in the browser.

This is the rendering the static book shows (no kernel behind the page). The script and the style
sheet are the package files ``quiz.js`` and ``quiz.css``, embedded in every quiz so that the quiz
needs nothing else; the questions travel as JSON in a ``<script type="application/json">``. Every
value written into the page is escaped.

Explained in the chapter "Check your understanding: GAN anatomy".
"""

from __future__ import annotations

import base64
import html
import io
import json
import uuid
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from gancourse.quiz.bank import Bank, Question
from gancourse.quiz.grading import NUMERIC_SLACK, TEXT, Feedback, Score

__all__ = ["feedback_html", "figure_html", "figure_png", "new_dom_id", "question_header", "static_html", "stylesheet"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    closing = {"quiz.js": "</script", "quiz.css": "</style"}[name]
    if closing in text.lower() or "<!--" in text:  # it is embedded inline, as the element's content
        raise ValueError(f"gancourse/quiz/{name} must not contain {closing!r} or '<!--'")
    return text


def stylesheet() -> str:
    """The quiz's CSS (``quiz.css``), shared by the static page and the live widget.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    return _asset("quiz.css")


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


def question_header(number: int, total: int) -> str:
    """The heading of a question, "Question 2 of 11", in both renderings.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    return f"Question {number} of {total}"


def figure_png(qid: str, figure: Any) -> bytes:
    """PNG bytes of a question's figure: a matplotlib figure (anything with ``savefig``) or PNG bytes.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    if isinstance(figure, (bytes, bytearray)):
        if not bytes(figure).startswith(_PNG_SIGNATURE):
            raise ValueError(f"figures[{qid!r}]: bytes given, but they are not a PNG image")
        return bytes(figure)
    if not hasattr(figure, "savefig"):
        raise TypeError(f"figures[{qid!r}] must be a matplotlib figure or PNG bytes, got {type(figure).__name__}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return buffer.getvalue()


def figure_html(q: Question, png: bytes | None) -> str:
    """The ``<figure>`` of a figure question, with the bank's alt text; empty without a figure.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    if png is None:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure class="gcq-figure"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(q.figure_alt)}" style="max-width:100%;height:auto"></figure>')


def new_dom_id() -> str:
    """A fresh element id for a quiz, such as ``"gcq-1f3a..."``.

    It comes from :func:`uuid.uuid4`, which reads ``os.urandom``: Python's global ``random`` stream,
    which the chapter's results may depend on, is left untouched.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    return f"gcq-{uuid.uuid4().hex[:12]}"


def _json_for_script(value: Any) -> str:
    """JSON that is safe inside a <script> element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _page_data(bank: Bank) -> dict:
    """What the script needs to grade: the sentences, the numeric slack and the questions."""
    questions = []
    for q in bank.questions:
        if q.kind == "numeric":
            questions.append({"kind": q.kind, "answer": q.answer, "tolerance": q.tolerance,
                              "right": q.right_explanation, "wrong": q.wrong_explanation})
        else:
            questions.append({"kind": q.kind, "choices": [
                {"text": c.text, "correct": c.correct, "explanation": c.explanation} for c in q.choices]})
    return {"text": TEXT, "slack": NUMERIC_SLACK, "questions": questions}


def _question_form(root_id: str, index: int, total: int, q: Question, png: bytes | None = None) -> str:
    esc = html.escape
    qid = f"{root_id}-q{index}"
    parts = [
        f'<form class="gcq-q" id="{qid}" data-gcq-index="{index}" data-gcq-id="{esc(q.id)}" novalidate>',
        f'<fieldset aria-describedby="{qid}-prompt">',
        f"<legend>{question_header(index + 1, total)}</legend>",
        f'<p class="gcq-prompt" id="{qid}-prompt">{esc(q.prompt)}</p>',
        figure_html(q, png),
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


def static_html(bank: Bank, root_id: str, figures: Mapping[str, bytes] | None = None) -> str:
    """The whole static quiz: a ``<div class="gcq">`` whose id is ``root_id``, holding its style,
    one form per question, the score line, the questions as JSON and the script (``quiz.js``).

    Element ids start with ``root_id``, so several quizzes can share a page. ``figures`` maps the id
    of a figure question to its PNG bytes.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    total = len(bank.questions)
    figures = figures or {}
    forms = "\n".join(_question_form(root_id, i, total, q, figures.get(q.id)) for i, q in enumerate(bank.questions))
    return (
        f'<div class="gcq" id="{root_id}" data-gcq-bank="{html.escape(bank.key)}">\n'
        f"<style>{stylesheet()}</style>\n"
        f'<p class="gcq-intro">{html.escape(TEXT["intro"].format(total=total))}</p>\n'
        f'<p class="gcq-nojs"><em>{html.escape(TEXT["no_js"])}</em></p>\n'
        f"{forms}\n"
        f'<p class="gcq-score" role="status" aria-live="polite">{html.escape(Score(total).text())}</p>\n'
        f'<script type="application/json" class="gcq-data">{_json_for_script(_page_data(bank))}</script>\n'
        f"<script>{_asset('quiz.js')}</script>\n"
        "</div>"
    )
