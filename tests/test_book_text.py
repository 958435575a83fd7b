"""The book's pages carry no unfinished text."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
BANKS = ROOT / "gancourse" / "quiz_banks"

# Markers of unfinished text: upper-case tokens as whole words, and filler Latin in any case.
LOREM = re.compile(r"\blorem\b", re.IGNORECASE)
UPPER = re.compile(r"\b(PLACEHOLDER|TODO|TBD|FIXME|XXX)\b")


def _texts():
    for path in sorted(BOOK.rglob("*")):
        if path.suffix == ".ipynb" and ".ipynb_checkpoints" not in path.parts:
            nb = json.loads(path.read_text(encoding="utf-8"))
            for i, cell in enumerate(nb["cells"]):
                yield f"{path.relative_to(ROOT)} cell {i}", "".join(cell["source"])
        elif path.suffix in {".md", ".rst", ".bib"}:
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    for path in sorted(BANKS.glob("*.json")):
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


def unfinished(text: str) -> list[str]:
    """The unfinished-text markers found in ``text``."""
    return [m.group(0) for m in UPPER.finditer(text)] + [m.group(0) for m in LOREM.finditer(text)]


@pytest.mark.parametrize("text, found", [
    ("**What helped.** PLACEHOLDER", ["PLACEHOLDER"]),
    ("# TODO: write this", ["TODO"]),
    ("numbers TBD, FIXME later", ["TBD", "FIXME"]),
    ("Lorem ipsum dolor", ["Lorem"]),
    ("a XXX marker", ["XXX"]),
    ("the todo list of a tasklist, Tbd.", []),
])
def test_marker_finder(text, found):
    assert unfinished(text) == found


def test_no_page_or_quiz_bank_has_unfinished_text():
    problems = [f"{where}: {', '.join(found)}" for where, text in _texts() if (found := unfinished(text))]
    assert not problems, "unfinished text in the book:\n" + "\n".join(problems)
