"""Tests for gancourse.quiz: banks, validation, grading, the score and the static HTML."""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path

import pytest

from gancourse import quiz as Q
from gancourse.quiz import Feedback, QuizBankError, Score, bank_from_dict, grade, load_bank, parse_number, quiz

# A small bank with one question of each kind, used by most tests below.
SAMPLE = {
    "title": "Sample chapter",
    "questions": [
        {
            "id": "tf",
            "kind": "true_false",
            "prompt": "True or false: the sky is green.",
            "choices": [
                {"text": "True", "correct": False, "explanation": "It is blue."},
                {"text": "False", "correct": True, "explanation": "Right, it is blue."},
            ],
        },
        {
            "id": "one",
            "kind": "single",
            "prompt": "Pick the even number.",
            "choices": [
                {"text": "3", "correct": False, "explanation": "3 is odd."},
                {"text": "4", "correct": True, "explanation": "4 = 2 x 2."},
                {"text": "5", "correct": False, "explanation": "5 is odd."},
            ],
        },
        {
            "id": "many",
            "kind": "multiple",
            "prompt": "Pick the primes.",
            "choices": [
                {"text": "2", "correct": True, "explanation": "2 is the even prime."},
                {"text": "4", "correct": False, "explanation": "4 = 2 x 2."},
                {"text": "5", "correct": True, "explanation": "5 has no divisors but 1 and 5."},
                {"text": "9", "correct": False, "explanation": "9 = 3 x 3."},
            ],
        },
        {
            "id": "num",
            "kind": "numeric",
            "prompt": "Accuracy of a fooled discriminator?",
            "answer": 0.5,
            "tolerance": 0.01,
            "explanation": {"right": "It can only guess.", "wrong": "Half real, half fake: 0.5."},
        },
    ],
}


@pytest.fixture
def bank():
    return bank_from_dict("sample", copy.deepcopy(SAMPLE))


def broken(edit) -> dict:
    """A copy of SAMPLE changed by ``edit(data)``."""
    data = copy.deepcopy(SAMPLE)
    edit(data)
    return data


# ------------------------------------------------------------------ shipped banks


def test_shipped_banks_are_listed():
    assert {"generative_models", "gan_anatomy"} <= set(Q.available_banks())


@pytest.mark.parametrize("key", Q.available_banks())
def test_every_shipped_bank_loads_and_is_complete(key):
    bank = load_bank(key)
    assert bank.key == key and bank.title and len(bank) >= 4
    for q in bank.questions:
        assert q.kind in Q.KINDS
        if q.kind == "numeric":
            assert q.right_explanation and q.wrong_explanation and q.tolerance >= 0
            assert grade(q, q.answer).correct
        else:
            assert all(c.explanation for c in q.choices)
            right = list(q.right_indices)
            answer = right if q.kind == "multiple" else right[0]
            assert grade(q, answer).correct


def test_gan_anatomy_bank_has_the_course_questions():
    bank = load_bank("gan_anatomy")
    assert bank.title == "Check your understanding: GAN anatomy"
    assert len(bank) >= 10
    # the course's three statements, all false
    for qid in ("gradients-reach-generator", "training-alternates", "losses-may-differ"):
        q = bank.question(qid)
        assert q.kind == "true_false"
        assert grade(q, False).correct and not grade(q, True).correct
    kinds = {q.kind for q in bank.questions}
    assert kinds == set(Q.KINDS)
    fooled = bank.question("fooled-accuracy")
    assert fooled.answer == 0.5 and grade(fooled, "50%").correct


def test_generative_models_bank():
    bank = load_bank("generative_models")
    assert len(bank) >= 4
    assert grade(bank.question("what-a-sampler-cannot"), [1, 3]).correct
    assert not grade(bank.question("what-a-sampler-cannot"), [1]).correct


@pytest.mark.parametrize("key", ["generative_models", "gan_anatomy"])
def test_right_answers_are_not_always_in_the_same_place(key):
    singles = [q.right_indices[0] for q in load_bank(key).questions if q.kind == "single"]
    assert len(set(singles)) > 1, "readers would learn where the right answer sits"


def test_unknown_bank_lists_the_shipped_ones():
    with pytest.raises(KeyError, match="gan_anatomy"):
        load_bank("no_such_chapter")
    with pytest.raises(KeyError):
        load_bank("../etc/passwd")


def test_bank_from_a_json_file(tmp_path):
    path = tmp_path / "my_chapter.json"
    path.write_text(json.dumps(SAMPLE), encoding="utf-8")
    bank = load_bank(path)
    assert bank.key == "my_chapter" and len(bank) == 4
    assert Q.quiz(str(path)).bank == bank


def test_invalid_json_names_the_bank(tmp_path):
    path = tmp_path / "bad_chapter.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(QuizBankError, match="'bad_chapter'.*not valid JSON"):
        load_bank(path)


# ------------------------------------------------------------------ validation


def _set(path, value):
    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _drop(path):
    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


@pytest.mark.parametrize(
    "edit, qid, problem",
    [
        (_set(("questions", 1, "choices", 1, "correct"), False), "one", "no right answer"),
        (_set(("questions", 2, "choices", 0, "correct"), False) , None, None),  # still one right: valid
        (_set(("questions", 1, "id"), "tf"), "tf", "duplicate id"),
        (_set(("questions", 1, "choices", 2, "explanation"), ""), "one", "no explanation"),
        (_drop(("questions", 2, "choices", 3, "explanation")), "many", "no explanation"),
        (_drop(("questions", 3, "explanation", "wrong")), "num", "explanation for a wrong answer"),
        (_set(("questions", 0, "kind"), "essay"), "tf", "unknown kind 'essay'"),
        (_set(("questions", 3, "tolerance"), -0.1), "num", "bad tolerance"),
        (_set(("questions", 3, "tolerance"), "0.1"), "num", "bad tolerance"),
        (_set(("questions", 3, "tolerance"), float("nan")), "num", "bad tolerance"),
        (_drop(("questions", 3, "tolerance")), "num", "bad tolerance"),
        (_set(("questions", 3, "answer"), None), "num", "finite number"),
        (_set(("questions", 1, "choices", 0, "correct"), True), "one", "exactly one"),
        (_set(("questions", 0, "choices", 0, "text"), "Yes"), "tf", "'True' and 'False'"),
        (_set(("questions", 1, "choices", 2, "text"), "3"), "one", "same text"),
        (_set(("questions", 1, "explaination"), "typo"), "one", "unknown field"),
        (_set(("questions", 1, "choices"), []), "one", "at least two"),
        (_set(("questions", 1, "prompt"), " "), "one", "no prompt"),
    ],
)
def test_validation_errors_name_chapter_and_question(edit, qid, problem):
    data = broken(edit)
    if problem is None:
        bank_from_dict("sample", data)  # a control case that must stay valid
        return
    with pytest.raises(QuizBankError) as info:
        bank_from_dict("sample", data)
    message = str(info.value)
    assert "quiz bank 'sample'" in message
    assert f"question '{qid}'" in message
    assert problem in message


def test_question_without_id_is_named_by_position():
    data = broken(_drop(("questions", 2, "id")))
    with pytest.raises(QuizBankError, match=r"quiz bank 'sample', question #3 \(no id\): has no 'id'"):
        bank_from_dict("sample", data)


@pytest.mark.parametrize(
    "data, problem",
    [
        ([], "must be a JSON object"),
        ({"questions": SAMPLE["questions"]}, "no 'title'"),
        ({"title": "T", "questions": []}, "non-empty list"),
        ({"title": "T", "questions": SAMPLE["questions"], "extra": 1}, "unknown field"),
    ],
)
def test_bank_level_errors_name_the_chapter(data, problem):
    with pytest.raises(QuizBankError, match=f"quiz bank 'sample': .*{re.escape(problem)}"):
        bank_from_dict("sample", data)


def test_quizbankerror_is_a_valueerror():
    assert issubclass(QuizBankError, ValueError)


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
    q = bank_from_dict("edge", broken(_set(("questions", 3, "tolerance"), 0.25))).question("num")
    assert grade(q, 0.75).correct and grade(q, 0.25).correct and not grade(q, 0.76).correct
    exact = bank_from_dict("exact", broken(_set(("questions", 3, "tolerance"), 0))).question("num")
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
    assert "<script>" in page and 'document.getElementById("gcq-test")' in page


def test_static_html_escapes_and_embeds_the_data_safely():
    data = broken(_set(("questions", 1, "prompt"), "Is </script><b>x</b> & y < z?"))
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


def test_public_functions_name_their_chapter():
    for name in Q.__all__:
        obj = getattr(Q, name)
        if callable(obj):
            doc = (obj.__doc__ or "").strip()
            assert doc.endswith('Explained in the chapter "Check your understanding: GAN anatomy".'), name
    assert Q.__doc__.strip().endswith('Explained in the chapter "Check your understanding: GAN anatomy".')


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
