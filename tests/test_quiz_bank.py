"""Tests for gancourse.quiz.bank: the shipped banks, the schema, validation and its messages, the package's files."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from gancourse import quiz as Q
from gancourse.quiz import QuizBankError, bank_from_dict, grade, load_bank, page
from gancourse.quiz import bank as bank_module

from quiz_sample import SAMPLE, broken, drop_at, set_at

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


# ------------------------------------------------------------------ the schema


def test_shipped_schema_is_a_valid_draft_2020_12_schema():
    schema = bank_module.bank_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert Q.KINDS == ("true_false", "single", "multiple", "numeric")
    assert Q.STYLES == ("check", "predict", "figure")


@pytest.mark.parametrize("key", Q.available_banks())
def test_every_shipped_bank_follows_the_schema(key):
    text = (resources.files("gancourse") / "quiz_banks" / f"{key}.json").read_text(encoding="utf-8")
    Draft202012Validator(bank_module.bank_schema()).validate(json.loads(text))


def test_the_sample_bank_follows_the_schema():
    Draft202012Validator(bank_module.bank_schema()).validate(SAMPLE)


def test_a_bank_file_breaking_a_schema_rule_names_the_file_and_the_question(tmp_path):
    path = tmp_path / "my_chapter.json"
    path.write_text(json.dumps(broken(set_at(("questions", 3, "tolerance"), -0.1))), encoding="utf-8")
    with pytest.raises(QuizBankError) as info:
        load_bank(path)
    rule = bank_module.bank_schema()["$defs"]["numeric_question"]["properties"]["tolerance"]
    assert rule["minimum"] == 0  # the rule that the bank breaks, and the sentence the schema gives for it
    expected = rule["errorMessage"].replace("{value}", "-0.1")
    assert str(info.value) == f"quiz bank 'my_chapter', question 'num': {expected}"
    assert str(info.value).endswith("bad tolerance -0.1: it must be a finite number >= 0")


def test_a_bank_file_breaking_a_python_rule_names_the_file_and_the_question(tmp_path):
    path = tmp_path / "my_chapter.json"
    data = broken(set_at(("questions", 1, "choices", 0, "correct"), True))
    Draft202012Validator(bank_module.bank_schema()).validate(data)  # the schema cannot tell
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(QuizBankError, match=r"^quiz bank 'my_chapter', question 'one': 2 right answers, but a "
                                           r"'single' question has exactly one \(use kind 'multiple'\)$"):
        load_bank(path)


def test_schema_errors_say_what_was_expected():
    with pytest.raises(QuizBankError, match=r"question 'one': has unknown field\(s\) explaination "
                                            r"\(expected only id, kind, prompt, style, figure_alt, choices\)"):
        bank_from_dict("sample", broken(set_at(("questions", 1, "explaination"), "typo")))
    with pytest.raises(QuizBankError, match=r"question 'many': choice 2 \('4'\) needs 'correct': true or false"):
        bank_from_dict("sample", broken(set_at(("questions", 2, "choices", 1, "correct"), "yes")))
    with pytest.raises(QuizBankError, match=r"question 'num': a numeric question needs 'explanation'"):
        bank_from_dict("sample", broken(set_at(("questions", 3, "explanation"), "It is 0.5.")))
    with pytest.raises(QuizBankError, match=r"question 'num': unknown kind None \(expected one of true_false, "):
        bank_from_dict("sample", broken(drop_at(("questions", 3, "kind"))))


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "edit, qid, problem",
    [
        (set_at(("questions", 1, "choices", 1, "correct"), False), "one", "no right answer"),
        (set_at(("questions", 2, "choices", 0, "correct"), False) , None, None),  # still one right: valid
        (set_at(("questions", 1, "id"), "tf"), "tf", "duplicate id"),
        (set_at(("questions", 1, "choices", 2, "explanation"), ""), "one", "no explanation"),
        (drop_at(("questions", 2, "choices", 3, "explanation")), "many", "no explanation"),
        (drop_at(("questions", 3, "explanation", "wrong")), "num", "explanation for a wrong answer"),
        (set_at(("questions", 0, "kind"), "essay"), "tf", "unknown kind 'essay'"),
        (set_at(("questions", 3, "tolerance"), -0.1), "num", "bad tolerance"),
        (set_at(("questions", 3, "tolerance"), "0.1"), "num", "bad tolerance"),
        (set_at(("questions", 3, "tolerance"), float("nan")), "num", "bad tolerance"),
        (drop_at(("questions", 3, "tolerance")), "num", "bad tolerance"),
        (set_at(("questions", 3, "answer"), None), "num", "finite number"),
        (set_at(("questions", 1, "choices", 0, "correct"), True), "one", "exactly one"),
        (set_at(("questions", 0, "choices", 0, "text"), "Yes"), "tf", "'True' and 'False'"),
        (set_at(("questions", 1, "choices", 2, "text"), "3"), "one", "same text"),
        (set_at(("questions", 1, "explaination"), "typo"), "one", "unknown field"),
        (set_at(("questions", 1, "choices"), []), "one", "at least two"),
        (set_at(("questions", 1, "prompt"), " "), "one", "no prompt"),
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
    data = broken(drop_at(("questions", 2, "id")))
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


# ------------------------------------------------------------------ the package's files


def _package_file(name: str) -> str:
    return resources.files("gancourse.quiz").joinpath(name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["quiz.js", "quiz.css", "bank.schema.json"])
def test_script_style_and_schema_ship_in_the_package(name):
    assert resources.files("gancourse.quiz").joinpath(name).is_file()
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    with open(Path(__file__).resolve().parent.parent / "pyproject.toml", "rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["gancourse"]
    assert any(fnmatch.fnmatch(f"quiz/{name}", pattern) for pattern in patterns), f"pyproject.toml: ship quiz/{name}"


def test_script_and_style_can_be_embedded_inline():
    assert "</script" not in _package_file("quiz.js").lower() and "</style" not in _package_file("quiz.css").lower()
    assert page.stylesheet() == _package_file("quiz.css")


def test_script_is_valid_javascript():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = resources.files("gancourse.quiz").joinpath("quiz.js")
    result = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
