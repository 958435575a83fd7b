"""The book's bibliography: every citation resolves, every entry is cited, every entry is complete.

The chapters cite papers with sphinxcontrib-bibtex's roles ({cite:p}`key`, {cite:t}`key`, ...), whose
keys live in book/references.bib; the References page (book/references.md) lists the cited entries.
A key missing from the .bib file fails the book build, but only the full build, after every chapter has
run; these checks catch it in seconds, and also catch what the build lets through: an entry nobody
cites, an entry without a venue, and a citation still written out by hand as "(Name et al., 2017)".
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
BIB = BOOK / "references.bib"

#: A citation role and its content: {cite:p}`a,b{section 2}`; group 1 is the role name, group 2 the targets.
CITE = re.compile(r"\{cite(?::([a-z]+))?\}`([^`]*)`")
#: A citation written out by hand: "Goodfellow et al., 2014", "Goodfellow et al. (2014)", "Mirza and
#: Osindero (2014)", "Endres & Schindelin, 2003", "White (2016)", "(slerp; White, 2016)".
HAND_WRITTEN = re.compile(
    r"\bet\s+al\.,?\s+\(?(19|20)\d\d\b"
    r"|\b[A-Z][\w-]+,?\s+(and|&)\s+[A-Z][\w-]+,?\s+\(?(19|20)\d\d\b"
    r"|\b[A-Z][\w-]+,?\s+\((19|20)\d\d\)"
    r"|\b[A-Z][a-z][\w-]*,\s+(19|20)\d\d\)"
)
#: Fields that name where an entry appeared.
VENUE_FIELDS = ("journal", "booktitle", "howpublished", "publisher", "school", "institution")


def cited_keys(text: str) -> list[tuple[str, str]]:
    """(role name, key) for every key cited in ``text``; pre- and post-texts in braces are dropped."""
    found = []
    for match in CITE.finditer(text):
        role = match.group(1) or ""
        targets = re.sub(r"\{[^{}]*\}", "", match.group(2))
        found.extend((role, key.strip()) for key in targets.split(",") if key.strip())
    return found


def _pages() -> list[tuple[str, str]]:
    """(where, text) for every markdown cell of every notebook under book/ and every page in .md."""
    pages = []
    for path in sorted(BOOK.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "markdown":
                pages.append((f"{path.relative_to(ROOT)} cell {i}", "".join(cell["source"])))
    for path in sorted(BOOK.rglob("*.md")):
        pages.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    return pages


def _citations() -> dict[str, list[str]]:
    """Cited key -> the places that cite it."""
    cites: dict[str, list[str]] = {}
    for where, text in _pages():
        for _, key in cited_keys(text):
            cites.setdefault(key, []).append(where)
    return cites


@pytest.fixture(scope="module")
def bib():
    database = pytest.importorskip("pybtex.database", reason="pybtex comes with the `book` extra")
    return database.parse_file(str(BIB), bib_format="bibtex")


@pytest.mark.parametrize("text, found", [
    ("as {cite:t}`goodfellow2014gan` showed", [("t", "goodfellow2014gan")]),
    ("{cite:p}`a2017x, b2018y{Table 1}` and {cite}`c2019z`", [("p", "a2017x"), ("p", "b2018y"), ("", "c2019z")]),
    ("({cite:alp}`radford2016dcgan{section 4}`; `dcgan_init`)", [("alp", "radford2016dcgan")]),
    ("(Goodfellow et al., 2014) and {term}`generator`", []),
])
def test_cited_keys_parser(text, found):
    assert cited_keys(text) == found


@pytest.mark.parametrize("text, hand_written", [
    ("Goodfellow et al. (2014) proposed", True),
    ("the minimax game (Goodfellow et al., 2014, Theorem 1)", True),
    ("Tipping and Bishop (1999)", True),
    ("a metric (Endres & Schindelin, 2003)", True),
    ("White (2016) found", True),
    ("(*slerp*; White, 2016)", True),
    ("(released in March 2016)", False),
    ("{cite:t}`goodfellow2014gan` proposed", False),
    ("in 2016, with CIFAR-10 (2009 images) and Python 3.11", False),
])
def test_hand_written_citation_finder(text, hand_written):
    assert bool(HAND_WRITTEN.search(CITE.sub("", text))) is hand_written


def test_bib_keys_are_unique():
    keys = re.findall(r"^@\w+\{\s*([^,\s]+)\s*,", BIB.read_text(encoding="utf-8"), flags=re.MULTILINE)
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert keys and not duplicates, f"keys defined twice in {BIB.name}: {duplicates}"


def test_every_cited_key_is_in_the_bibliography(bib):
    missing = {key: where for key, where in _citations().items() if key not in bib.entries}
    assert not missing, "cited but not in book/references.bib:\n" + "\n".join(
        f"  {key}: {', '.join(where)}" for key, where in sorted(missing.items())
    )


def test_every_entry_is_cited(bib):
    uncited = sorted(set(bib.entries) - set(_citations()))
    assert not uncited, f"entries of book/references.bib that no page cites (cite them or remove them): {uncited}"


def test_every_entry_has_author_title_year_venue_and_link(bib):
    problems = []
    for key, entry in bib.entries.items():
        fields = entry.fields
        if not entry.persons.get("author"):
            problems.append(f"{key}: no author")
        for name in ("title", "year"):
            if not fields.get(name):
                problems.append(f"{key}: no {name}")
        if not re.fullmatch(r"(19|20)\d\d", fields.get("year", "")):
            problems.append(f"{key}: year {fields.get('year')!r} is not a four-digit year")
        if not any(fields.get(name) for name in VENUE_FIELDS):
            problems.append(f"{key}: no venue (one of {', '.join(VENUE_FIELDS)})")
        if not (fields.get("url", "").startswith("https://") or fields.get("doi")):
            problems.append(f"{key}: neither an https url nor a doi")
    assert not problems, "incomplete entries in book/references.bib:\n" + "\n".join(problems)


def test_every_citation_role_is_one_the_style_provides():
    pytest.importorskip("sphinxcontrib.bibtex", reason="sphinxcontrib-bibtex comes with the `book` extra")
    spec = importlib.util.spec_from_file_location("citation_style", BOOK / "_ext" / "citation_style.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    roles = set(module.RoundAuthorYearReferenceStyle().role_names())
    assert {"p", "t", "alp", "ts"} <= roles
    unknown = sorted({f"{where}: cite:{role}" for where, text in _pages() for role, _ in cited_keys(text)
                      if role and role not in roles})
    assert not unknown, "citation roles the book's style does not provide:\n" + "\n".join(unknown)


def test_no_citation_is_written_out_by_hand():
    """A paper named with its year is cited with a role, so that it links to the References page."""
    hand_written = [f"{where}: ...{prose[max(0, m.start() - 40):m.end()]}..."
                    for where, text in _pages() for prose in [CITE.sub("", text)]
                    for m in HAND_WRITTEN.finditer(prose)]
    assert not hand_written, "write these citations as {cite:p}`key` or {cite:t}`key`:\n" + "\n".join(hand_written)


def test_book_config_toc_and_references_page_use_the_bibliography():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["bibtex_bibfiles"] == ["book/references.bib"]
    assert config["sphinx"]["config"]["bibtex_reference_style"] == "author_year_round"
    assert config["sphinx"]["local_extensions"]["citation_style"] == "book/_ext"
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s*- file: book/references\s*$", toc, flags=re.MULTILINE), "_toc.yml must list book/references"
    page = (BOOK / "references.md").read_text(encoding="utf-8")
    assert re.search(r"^```\{bibliography\}", page, flags=re.MULTILINE), "book/references.md needs {bibliography}"
