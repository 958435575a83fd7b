"""Question styles: predict-before-you-run and read-this-figure questions, in the banks and the book."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from gancourse import quiz as Q  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

CHOICES = [{"text": "True", "correct": True, "explanation": "Yes."},
           {"text": "False", "correct": False, "explanation": "No."}]


def _bank(*questions):
    return Q.bank_from_dict("styles", {"title": "Styles", "questions": list(questions)})


def _q(qid, **extra):
    return {"id": qid, "kind": "true_false", "prompt": f"Question {qid}?", "choices": CHOICES, **extra}


# ------------------------------------------------------------------ validation


def test_style_defaults_to_check():
    assert _bank(_q("a")).question("a").style == "check"


@pytest.mark.parametrize("extra, problem", [
    ({"style": "guess"}, "unknown style 'guess'"),
    ({"style": "figure"}, "needs 'figure_alt'"),
    ({"style": "figure", "figure_alt": "  "}, "needs 'figure_alt'"),
    ({"style": "predict", "figure_alt": "a plot"}, "'figure_alt' belongs only to questions of style 'figure'"),
])
def test_bad_styles_name_the_question(extra, problem):
    with pytest.raises(Q.QuizBankError, match=re.escape(problem)) as err:
        _bank(_q("bad", **extra))
    assert "'bad'" in str(err.value) and "'styles'" in str(err.value)


# ------------------------------------------------------------------ showing them


@pytest.fixture
def styled():
    return _bank(_q("check"), _q("guess", style="predict"), _q("read", style="figure", figure_alt="A rising curve."))


@pytest.fixture
def figure():
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, 1])
    yield fig
    plt.close(fig)


def test_plain_call_leaves_out_predict_questions(styled, figure):
    shown = Q.quiz(styled, figures={"read": figure})
    assert [q.id for q in shown.bank.questions] == ["check", "read"]


def test_predict_question_is_shown_by_name(styled):
    assert [q.id for q in Q.quiz(styled, questions=["guess"]).bank.questions] == ["guess"]


def test_figure_question_needs_its_figure(styled):
    with pytest.raises(ValueError, match=r"\['read'\] need their figure"):
        Q.quiz(styled)


def test_figure_for_a_question_not_shown_is_refused(styled, figure):
    with pytest.raises(ValueError, match="not figure questions shown"):
        Q.quiz(styled, questions=["check"], figures={"read": figure})
    with pytest.raises(ValueError, match="not figure questions shown"):
        Q.quiz(styled, questions=["check"], figures={"check": figure})


def test_figure_must_be_a_figure_or_png(styled):
    with pytest.raises(TypeError, match=r"figures\['read'\] must be a matplotlib figure"):
        Q.quiz(styled, questions=["read"], figures={"read": [1, 2]})
    with pytest.raises(ValueError, match="not a PNG"):
        Q.quiz(styled, questions=["read"], figures={"read": b"GIF89a"})


def test_figure_is_shown_inside_the_question_with_its_alt_text(styled, figure):
    shown = Q.quiz(styled, questions=["read"], figures={"read": figure})
    page = shown.to_html()
    form = page[page.index('data-gcq-id="read"'):]
    assert '<img src="data:image/png;base64,' in form and 'alt="A rising curve."' in form
    widget_prompt = shown.widget.questions[0].prompt.value
    assert 'alt="A rising curve."' in widget_prompt and "data:image/png;base64," in widget_prompt


# ------------------------------------------------------------------ the shipped banks and the book


def _quiz_calls():
    """(notebook, cell index, bank key, question ids or None, figure ids) for every quiz(...) call."""
    calls = []
    for path in sorted(BOOK.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or "quiz(" not in source:
                continue
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "quiz":
                    if not node.args or not isinstance(node.args[0], ast.Constant):
                        continue
                    kw = {k.arg: k.value for k in node.keywords}
                    ids = ast.literal_eval(kw["questions"]) if "questions" in kw else None
                    figs = [ast.literal_eval(k) for k in kw["figures"].keys] if "figures" in kw else []
                    calls.append((path.stem, i, node.args[0].value, ids, figs))
    return calls


def test_a_quarter_of_all_questions_predict_or_read_a_figure():
    banks = [Q.load_bank(key) for key in Q.available_banks()]
    questions = [q for bank in banks for q in bank.questions]
    styled = [q for q in questions if q.style in ("predict", "figure")]
    assert len(styled) * 4 >= len(questions), (
        f"{len(styled)} of {len(questions)} questions are predict or figure questions: at least a quarter needed")


def test_every_predict_question_is_asked_before_a_cell_runs():
    calls = _quiz_calls()
    for key in Q.available_banks():
        for q in Q.load_bank(key).questions:
            if q.style != "predict":
                continue
            places = [(nb, i) for nb, i, bank, ids, _ in calls if bank == key and ids and q.id in ids]
            assert places, f"predict question {key}[{q.id}] is never shown: name it in quiz({key!r}, questions=[...])"
            for nb, i in places:
                cells = json.loads((BOOK / f"{nb}.ipynb").read_text(encoding="utf-8"))["cells"]
                later = [c for c in cells[i + 1:] if c["cell_type"] == "code" and "quiz(" not in "".join(c["source"])]
                assert later, f"{nb} cell {i}: predict question {q.id} has no cell after it to answer it"


def test_every_figure_question_is_shown_with_its_figure():
    calls = _quiz_calls()
    for key in Q.available_banks():
        for q in Q.load_bank(key).questions:
            if q.style == "figure":
                assert any(bank == key and q.id in figs for _, _, bank, _, figs in calls), (
                    f"figure question {key}[{q.id}] is never shown with its figure (quiz(..., figures={{...}}))")
