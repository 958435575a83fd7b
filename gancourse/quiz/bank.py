"""Question banks: the data model, and loading and validating the JSON banks.

The questions are data, shipped with the package: one JSON *bank* per chapter in
``gancourse/quiz_banks/<key>.json``, where ``<key>`` is the name given to :func:`gancourse.quiz.quiz`.
A bank's format is the JSON Schema ``bank.schema.json`` next to this module (draft 2020-12), checked
with :mod:`jsonschema`; this module adds the few rules that a schema says poorly (unique ids, one
right answer, the two texts of a true-or-false question). How to write a bank:
``gancourse/quiz_banks/README.md``.

Explained in the chapter "Check your understanding: GAN anatomy".
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "KINDS",
    "STYLES",
    "Bank",
    "Choice",
    "Question",
    "QuizBankError",
    "available_banks",
    "bank_from_dict",
    "bank_schema",
    "load_bank",
]

_BANK_FOLDER = "quiz_banks"  # inside the gancourse package
_SCHEMA_FILE = "bank.schema.json"  # next to this module
_KEY_RE = re.compile(r"^[a-z0-9_]+$")


@lru_cache(maxsize=None)
def _schema() -> dict:
    return json.loads(resources.files(__package__).joinpath(_SCHEMA_FILE).read_text(encoding="utf-8"))


def bank_schema() -> dict:
    """The JSON Schema (draft 2020-12) that every bank follows, read from ``bank.schema.json``.

    Each rule carries an ``errorMessage``: the sentence a :class:`QuizBankError` shows when a bank
    breaks it. Returns a fresh copy, safe to change.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    return copy.deepcopy(_schema())


#: The question kinds a bank may use (the schema's ``kind`` values).
KINDS: tuple[str, ...] = tuple(_schema()["$defs"]["question"]["properties"]["kind"]["enum"])

#: What a question asks of the reader (the schema's ``style`` values): ``check`` an idea of the
#: chapter, ``predict`` the outcome of the next cell before running it (shown in place, before that
#: cell, by naming it in ``quiz(bank, questions=[...])``), or read a ``figure`` that the chapter
#: computed (passed to ``quiz(..., figures={id: fig})`` and shown inside the question, with the
#: bank's ``figure_alt``).
STYLES: tuple[str, ...] = tuple(_schema()["$defs"]["style"]["enum"])


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


# --------------------------------------------------------------------------------------------------
# Validation: the schema, then the rules a schema says poorly
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _validator():
    from jsonschema import Draft202012Validator  # imported when the first bank is loaded: it is slow to import

    return Draft202012Validator(_schema())


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _question_name(raw: Any, number: int) -> str:
    qid = raw.get("id") if isinstance(raw, Mapping) else None
    return f"question {qid!r}" if _nonempty_str(qid) else f"question #{number} (no id)"


def _resolve(node: Any) -> Mapping:
    """A schema node with its local ``$ref`` (``#/$defs/...``) followed; {} for a boolean schema."""
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = _schema()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node if isinstance(node, Mapping) else {}


def _problem(error) -> str:
    """What a failed schema rule means, in the words of the rule's ``errorMessage``."""
    node = error.schema
    if error.validator == "additionalProperties":
        allowed = list(node.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        return f"has unknown field(s) {', '.join(unknown)} (expected only {', '.join(allowed)})"
    value = error.instance
    if error.validator == "required":  # the missing field's own message, if it has one
        missing = next(name for name in error.validator_value if name not in error.instance)
        field = _resolve(node.get("properties", {}).get(missing))
        node, value = (field if "errorMessage" in field else node), None
    message = node.get("errorMessage") if isinstance(node, Mapping) else None
    return error.message if message is None else message.replace("{value}", repr(value))


def _schema_error(chapter: str, data: Any, error) -> QuizBankError:
    """The error naming the bank, the question (by id, or by position) and the choice at fault."""
    path = list(error.absolute_path)
    where, subject = f"quiz bank {chapter!r}", ""
    if len(path) >= 2 and path[0] == "questions":
        raw = data["questions"][path[1]]
        where += f", {_question_name(raw, path[1] + 1)}"
        if len(path) >= 4 and path[2] == "choices":
            text = raw["choices"][path[3]].get("text") if isinstance(raw["choices"][path[3]], Mapping) else None
            subject = f"choice {path[3] + 1}" + (f" ({text.strip()!r})" if _nonempty_str(text) else "") + " "
    return QuizBankError(f"{where}: {subject}{_problem(error)}")


def _error_order(error) -> tuple:
    # the bank first, then question by question, the question's own fields before its choices'
    path = list(error.absolute_path)
    return tuple(p for p in path if isinstance(p, int)), len(path)


def _broken_rule(raw: Mapping, seen: set[str]) -> str | None:
    """The first rule that a schema-valid question breaks among those a schema says poorly, or None."""
    kind = raw["kind"]
    if raw["id"] in seen:
        return "duplicate id (each question id must be unique within its bank)"
    if kind == "numeric":
        if not math.isfinite(raw["answer"]):
            return "a numeric question needs a finite number as 'answer'"
        if not math.isfinite(raw["tolerance"]):
            return f"bad tolerance {raw['tolerance']!r}: it must be a finite number >= 0"
        return None
    texts = [c["text"].strip() for c in raw["choices"]]
    n_right = sum(c["correct"] for c in raw["choices"])
    if len(set(texts)) != len(texts):
        return "two choices have the same text"
    if n_right == 0:
        return "no right answer: mark at least one choice 'correct': true"
    if kind in ("true_false", "single") and n_right > 1:
        return f"{n_right} right answers, but a {kind!r} question has exactly one (use kind 'multiple')"
    if kind == "true_false" and sorted(texts) != ["False", "True"]:
        return "a 'true_false' question has exactly two choices, 'True' and 'False'"
    return None


def _question(raw: Mapping) -> Question:
    common = dict(id=raw["id"], kind=raw["kind"], prompt=raw["prompt"].strip(), style=raw.get("style", "check"),
                  figure_alt=raw.get("figure_alt", "").strip())
    if raw["kind"] == "numeric":
        return Question(**common, answer=float(raw["answer"]), tolerance=float(raw["tolerance"]),
                        right_explanation=raw["explanation"]["right"].strip(),
                        wrong_explanation=raw["explanation"]["wrong"].strip())
    choices = tuple(Choice(text=c["text"].strip(), correct=c["correct"], explanation=c["explanation"].strip())
                    for c in raw["choices"])
    return Question(**common, choices=choices)


def bank_from_dict(chapter: str, data: Any) -> Bank:
    """Validate a bank given as a dict (the parsed JSON) and return it as a :class:`Bank`.

    The bank must follow the schema (:func:`bank_schema`) and the rules it leaves to Python: unique
    question ids, different texts for the choices of a question, at least one right choice and
    exactly one in a ``true_false`` or ``single`` question, ``"True"`` and ``"False"`` as the two
    choices of a ``true_false`` question, a finite answer and tolerance. Otherwise raises
    :class:`QuizBankError`, whose message names ``chapter`` and the faulty question's id and says
    what was expected: for instance no right answer, a duplicate id, a missing explanation, an
    unknown kind or field, or a bad (negative or non-finite) tolerance.

    Explained in the chapter "Check your understanding: GAN anatomy".
    """
    errors = sorted(_validator().iter_errors(data), key=_error_order)
    if errors:
        raise _schema_error(chapter, data, errors[0])
    seen: set[str] = set()
    for number, raw in enumerate(data["questions"], start=1):
        problem = _broken_rule(raw, seen)
        if problem is not None:
            raise QuizBankError(f"quiz bank {chapter!r}, {_question_name(raw, number)}: {problem}")
        seen.add(raw["id"])
    return Bank(key=chapter, title=data["title"].strip(), questions=tuple(_question(raw) for raw in data["questions"]))


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


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
