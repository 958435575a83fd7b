"""The live ipywidgets quiz, answered through the widget objects as a reader's clicks would.

These tests run with ipywidgets 8 (the course's environment) and also pass with ipywidgets 7.7.1
(Colab's version): see tests/test_colab.py for the API check.
"""

from __future__ import annotations

import sys
import types

import pytest

ipywidgets = pytest.importorskip("ipywidgets")

from gancourse import quiz as Q  # noqa: E402


@pytest.fixture
def live():
    return Q.quiz("gan_anatomy").widget


def by_id(live, qid):
    return next(qw for qw in live.questions if qw.question.id == qid)


def test_one_widget_per_question_with_the_right_controls(live):
    bank = Q.load_bank("gan_anatomy")
    assert [qw.question for qw in live.questions] == list(bank.questions)
    assert live.box.children[0] is live.header and live.box.children[-1] is live.score_line
    for qw in live.questions:
        q = qw.question
        assert isinstance(qw.button, ipywidgets.Button) and qw.button.description == "Check"
        assert qw.feedback.value == ""
        if q.kind == "multiple":
            assert [box.description for box in qw.checkboxes] == [c.text for c in q.choices]
            assert not any(box.value for box in qw.checkboxes)
        elif q.kind == "numeric":
            assert isinstance(qw.control, ipywidgets.Text) and qw.control.value == ""
        else:
            assert isinstance(qw.control, ipywidgets.RadioButtons)
            assert [label for label, _ in qw.control.options] == [c.text for c in q.choices]
            assert qw.control.value is None  # nothing is pre-selected
    assert live.score_line.value.endswith("Score: no answers checked yet (11 questions).</p>")


def test_right_then_wrong_answer_updates_feedback_and_score(live):
    first = by_id(live, "gradients-reach-generator")
    first.control.value = 1  # "False": right
    first.button.click()
    assert "Correct." in first.feedback.value and "gcq-right" in first.feedback.value
    assert "flows back from the discriminator" in first.feedback.value
    assert "Score: 1 of 1 right at the first try (11 questions)." in live.score_line.value

    second = by_id(live, "training-alternates")
    second.control.value = 0  # "True": wrong
    second.button.click()
    assert "Not quite." in second.feedback.value and "gcq-wrong" in second.feedback.value
    assert "takes turns" in second.feedback.value
    assert "Score: 1 of 2 right at the first try" in live.score_line.value


def test_feedback_matches_the_pure_grader(live):
    for qw in live.questions:
        q = qw.question
        if q.kind == "numeric":
            qw.control.value = "0.7"
        elif q.kind == "multiple":
            for box in qw.checkboxes:
                box.value = True
        else:
            qw.control.value = 0
        qw.button.click()
        assert qw.feedback.value == Q.feedback_html(Q.grade(q, qw.answer()))


def test_retry_does_not_change_the_score(live):
    qw = by_id(live, "losses-may-differ")
    qw.control.value = 0
    qw.button.click()
    qw.control.value = 1
    qw.button.click()
    assert "Correct." in qw.feedback.value
    assert (live.score.right, live.score.checked) == (0, 1)


def test_checking_with_no_answer_gives_a_hint_and_no_score(live):
    for qid in ("negatives", "generator-step", "fooled-accuracy"):
        qw = by_id(live, qid)
        qw.button.click()
        assert "then press Check" in qw.feedback.value and "gcq-hint" in qw.feedback.value
    assert live.score.checked == 0


def test_select_all_that_apply(live):
    qw = by_id(live, "generator-step")
    right = set(qw.question.right_indices)
    for i, box in enumerate(qw.checkboxes):
        box.value = i in right and i != min(right)  # leave one right answer out
    qw.button.click()
    assert "Not quite." in qw.feedback.value
    assert f"You ticked {len(right) - 1} of the {len(right)} right answers, and 0 wrong." in qw.feedback.value
    qw.checkboxes[min(right)].value = True
    qw.button.click()
    assert "Correct." in qw.feedback.value


@pytest.mark.parametrize("typed, verdict", [("0.5", "Correct."), ("50%", "Correct."), ("0.8", "Not quite.")])
def test_numeric_answer_typed_in_the_text_box(live, typed, verdict):
    qw = by_id(live, "fooled-accuracy")
    qw.control.value = typed
    qw.button.click()
    assert verdict in qw.feedback.value


def test_widget_is_built_once_and_quizzes_are_independent():
    a, b = Q.quiz("gan_anatomy"), Q.quiz("gan_anatomy")
    assert a.widget is a.widget
    a.widget.questions[0].control.value = 1
    a.widget.questions[0].button.click()
    assert b.widget.score.checked == 0 and b.widget.questions[0].feedback.value == ""


def test_mimebundle_carries_widget_and_static_html():
    quiz = Q.quiz("gan_anatomy")
    bundle = quiz.mimebundle()
    assert set(bundle) == {"text/plain", "text/html", "application/vnd.jupyter.widget-view+json"}
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view == {"version_major": 2, "version_minor": 0, "model_id": quiz.widget.box.model_id}
    assert '<div class="gcq" id="gcq-' in bundle["text/html"] and "<script>" in bundle["text/html"]
    assert quiz._repr_mimebundle_() .keys() == bundle.keys()


def _capture_display(monkeypatch):
    shown = []

    def fake_display(*objs, **kwargs):
        shown.append((objs, kwargs))

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", fake_display)
    return shown


def test_jupyter_gets_both_renderings(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    shown = _capture_display(monkeypatch)
    quiz = Q.quiz("gan_anatomy")
    quiz._ipython_display_()
    (objs, kwargs), = shown
    assert kwargs == {"raw": True}
    assert "text/html" in objs[0] and "application/vnd.jupyter.widget-view+json" in objs[0]


def test_colab_gets_the_plain_widget(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    shown = _capture_display(monkeypatch)
    quiz = Q.quiz("gan_anatomy")
    quiz._ipython_display_()
    (objs, kwargs), = shown
    assert objs == (quiz.widget.box,) and kwargs == {}
