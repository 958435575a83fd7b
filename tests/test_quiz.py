"""Tests for gancourse.quiz: grading, the score, the static HTML and the chapter (banks: test_quiz_bank.py)."""

from __future__ import annotations

import copy
import json
import random
import re
from importlib import resources
from pathlib import Path

import pytest

from gancourse import quiz as Q
from gancourse.quiz import Feedback, Score, bank_from_dict, grade, grading, load_bank, parse_number, quiz, widget
from gancourse.quiz import bank as bank_module
from gancourse.quiz import page as page_module

from quiz_sample import SAMPLE, broken, set_at


@pytest.fixture
def bank():
    return bank_from_dict("sample", copy.deepcopy(SAMPLE))


# ------------------------------------------------------------------ grading


def test_true_false(bank):
    q = bank.question("tf")
    right = grade(q, 1)
    assert right == Feedback(True, "Correct.\nRight, it is blue.")
    assert grade(q, "False") == right == grade(q, False)
    wrong = grade(q, True)
    assert not wrong.correct and wrong.answered
    assert wrong.lines == ["Not quite.", "It is blue."]


def test_single(bank):
    q = bank.question("one")
    assert grade(q, 1).correct and grade(q, "4").correct
    fb = grade(q, 2)
    assert not fb.correct and fb.message == "Not quite.\n5 is odd."


def test_multiple_exactly_right(bank):
    fb = grade(bank.question("many"), [2, 0])
    assert fb.correct
    assert fb.lines == [
        "Correct.",
        "\u201c2\u201d: 2 is the even prime.",
        "\u201c5\u201d: 5 has no divisors but 1 and 5.",
    ]


def test_multiple_partially_right(bank):
    q = bank.question("many")
    missing = grade(q, [0])  # one right, one right left out
    assert not missing.correct and missing.answered
    assert missing.lines[:2] == ["Not quite.", "You ticked 1 of the 2 right answers, and 0 wrong."]
    extra = grade(q, {"2", "5", "9"})  # both right ones plus a wrong one
    assert not extra.correct
    assert extra.lines[1] == "You ticked 2 of the 2 right answers, and 1 wrong."
    assert extra.lines[-1] == "\u201c9\u201d: 9 = 3 x 3."


def test_multiple_all_wrong(bank):
    fb = grade(bank.question("many"), (1, 3))
    assert not fb.correct and "0 of the 2 right answers, and 2 wrong" in fb.message


@pytest.mark.parametrize("answer", [0.5, 0.509, 0.491, "0.5", " .5 ", "50%", "50 %", "0,5", "5e-1", 1 / 2])
def test_numeric_within_tolerance(bank, answer):
    fb = grade(bank.question("num"), answer)
    assert fb.correct and fb.message == "Correct.\nIt can only guess."


@pytest.mark.parametrize("answer", [0.52, 0.48, "0.75", "5", "-0.5", "100%"])
def test_numeric_outside_tolerance(bank, answer):
    fb = grade(bank.question("num"), answer)
    assert not fb.correct and fb.answered
    assert fb.message == "Not quite.\nHalf real, half fake: 0.5."


def test_numeric_tolerance_edge_is_inclusive():
    q = bank_from_dict("edge", broken(set_at(("questions", 3, "tolerance"), 0.25))).question("num")
    assert grade(q, 0.75).correct and grade(q, 0.25).correct and not grade(q, 0.76).correct
    exact = bank_from_dict("exact", broken(set_at(("questions", 3, "tolerance"), 0))).question("num")
    assert grade(exact, "50%").correct and not grade(exact, 0.5001).correct


@pytest.mark.parametrize("kind_id, answer", [("tf", None), ("one", None), ("many", None), ("many", []),
                                             ("num", ""), ("num", "half"), ("num", None), ("num", "1/2")])
def test_empty_or_unreadable_answers_are_not_graded(bank, kind_id, answer):
    fb = grade(bank.question(kind_id), answer)
    assert not fb.answered and not fb.correct
    assert "then press Check" in fb.message


@pytest.mark.parametrize("kind_id, answer", [("one", 7), ("one", "6"), ("one", True), ("many", [9]), ("many", "2")])
def test_impossible_answers_raise(bank, kind_id, answer):
    with pytest.raises(ValueError):
        grade(bank.question(kind_id), answer)


@pytest.mark.parametrize(
    "text, value",
    [("0.25", 0.25), ("25%", 0.25), ("+.5", 0.5), ("-2", -2.0), ("1e3", 1000.0), ("3,5", 3.5), (2, 2.0),
     ("", None), ("abc", None), ("1,000.5", None), ("inf", None), ("nan", None), (True, None), (float("inf"), None)],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_grading_is_pure(bank):
    q = bank.question("many")
    answer = [0, 2]
    before = copy.deepcopy(answer)
    assert grade(q, answer) == grade(q, answer)
    assert answer == before


# ------------------------------------------------------------------ score


def test_score_counts_first_graded_answer_only():
    score = Score(total=3)
    assert score.text() == "Score: no answers checked yet (3 questions)."
    score.record(0, Feedback(False, "hint", answered=False))  # not graded: ignored
    assert score.checked == 0
    score.record(0, Feedback(False, "Not quite."))
    score.record(0, Feedback(True, "Correct."))  # a second try does not change the score
    score.record(1, Feedback(True, "Correct."))
    assert (score.right, score.checked) == (1, 2)
    assert score.text() == "Score: 1 of 2 right at the first try (3 questions)."


# ------------------------------------------------------------------ static HTML rendering


def test_feedback_html_states_the_verdict_in_words():
    ok = Q.feedback_html(Feedback(True, "Correct.\nBecause <b> & so on."))
    assert "gcq-right" in ok and "<strong class=\"gcq-verdict\">Correct.</strong>" in ok
    assert "Because &lt;b&gt; &amp; so on." in ok
    no = Q.feedback_html(Feedback(False, "Not quite.\nNo."))
    assert "gcq-wrong" in no and "Not quite." in no
    hint = Q.feedback_html(Feedback(False, "Choose an answer, then press Check.", answered=False))
    assert "gcq-hint" in hint and "gcq-verdict" not in hint


def test_static_html_has_real_labelled_controls(bank):
    page = Q.quiz(bank).to_html(dom_id="gcq-test")
    assert page.count("<form class=\"gcq-q\"") == 4
    assert page.count('type="radio"') == 2 + 3 and page.count('type="checkbox"') == 4
    for input_id in re.findall(r'<input type="(?:radio|checkbox)" id="([^"]+)"', page):
        assert f'<label class="gcq-choice" for="{input_id}">' in page
    assert '<label for="gcq-test-q3-answer">Your answer</label>' in page
    assert page.count(">Check</button>") == 4
    # the shipped script, as is: it finds its quiz by itself, with no id written into it
    script = resources.files("gancourse.quiz").joinpath("quiz.js").read_text(encoding="utf-8")
    assert f"<script>{script}</script>" in page and "gcq-test" not in script


def test_static_html_escapes_and_embeds_the_data_safely():
    data = broken(set_at(("questions", 1, "prompt"), "Is </script><b>x</b> & y < z?"))
    page = Q.quiz(bank_from_dict("sample", data)).to_html(dom_id="gcq-x")
    assert "Is &lt;/script&gt;&lt;b&gt;x&lt;/b&gt; &amp; y &lt; z?" in page
    # the only closing script tags are the two we write
    assert page.count("</script>") == 2
    payload = re.search(r'<script type="application/json" class="gcq-data">(.*?)</script>', page, re.S).group(1)
    decoded = json.loads(payload)
    assert decoded["text"] == Q.TEXT
    assert decoded["questions"][3] == {"kind": "numeric", "answer": 0.5, "tolerance": 0.01,
                                       "right": "It can only guess.", "wrong": "Half real, half fake: 0.5."}


def test_each_rendering_gets_new_ids_without_touching_random(bank):
    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    quiz = Q.quiz(bank)
    ids = {re.search(r'class="gcq" id="([^"]+)"', quiz.to_html()).group(1) for _ in range(20)}
    assert random.random() == expected  # the global stream is untouched
    assert len(ids) == 20


def test_text_fallback_names_the_quiz():
    assert repr(Q.quiz("gan_anatomy")).startswith("<gancourse quiz 'gan_anatomy'")


@pytest.mark.parametrize("module", [Q, bank_module, grading, page_module, widget], ids=lambda m: m.__name__)
def test_public_functions_name_their_chapter(module):
    for name in module.__all__:
        obj = getattr(module, name)
        if callable(obj):
            doc = (obj.__doc__ or "").strip()
            assert doc.endswith('Explained in the chapter "Check your understanding: GAN anatomy".'), name
    assert module.__doc__.strip().endswith('Explained in the chapter "Check your understanding: GAN anatomy".')


# ------------------------------------------------------------------ the book and the chapter

ROOT = Path(__file__).resolve().parent.parent
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def test_book_config_prefers_the_static_quiz_over_the_dead_widget():
    """MyST-NB keeps one MIME type per output; for HTML pages it must be the quiz's text/html."""
    render = pytest.importorskip("myst_nb.core.render")
    yaml = pytest.importorskip("yaml")
    config_path = ROOT / "_config.yml"
    if not config_path.is_file():
        pytest.skip("no _config.yml yet")
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    overrides = ((config.get("sphinx") or {}).get("config") or {}).get("nb_mime_priority_overrides", [])
    for builder in ("html", "dirhtml", "singlehtml"):
        order = render.get_mime_priority(builder, [tuple(o) for o in overrides])
        assert "text/html" in order and order.index("text/html") < order.index(WIDGET_MIME), (
            f"_config.yml: add [{builder}, text/html, 0] to sphinx.config.nb_mime_priority_overrides"
        )


def test_chapter_notebook_is_committed_clean():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(ROOT / "book" / "07_check_your_understanding.ipynb", as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].metadata["tags"] == ["remove-cell"] and "google.colab" in nb.cells[0].source
    assert nb.cells[1].source.startswith("# Check your understanding: GAN anatomy\n")
    calls = [c for c in nb.cells if c.cell_type == "code" and 'quiz("gan_anatomy")' in c.source]
    assert len(calls) == 1 and "remove-input" in calls[0].metadata["tags"]
    assert calls[0].source.startswith("# NBVAL_IGNORE_OUTPUT\n")
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_dom_id_must_be_plain():
    with pytest.raises(ValueError, match="dom_id"):
        Q.quiz("gan_anatomy").to_html(dom_id='x"><script>')


def test_quiz_can_show_some_questions_of_a_bank_in_the_order_given():
    """Two chapters share the "variations" bank; each shows its own questions, and a wrong id is an error."""
    bank = load_bank("variations")
    ids = [q.id for q in bank.questions]
    shown = quiz("variations", questions=[ids[2], ids[0]])
    assert [q.id for q in shown.bank.questions] == [ids[2], ids[0]]
    assert shown.bank.key == "variations" and len(shown.bank) == 2
    with pytest.raises(ValueError, match="unknown ids \\['no-such-question'\\]"):
        quiz("variations", questions=[ids[0], "no-such-question"])
    with pytest.raises(ValueError, match="questions is empty"):
        quiz("variations", questions=[])
    with pytest.raises(TypeError, match="list of question ids"):
        quiz("variations", questions=ids[0])
