"""The API reference and the glossary: complete, and reachable from the book.

- every module of ``gancourse`` has an ``automodule`` directive on a page under ``book/reference/``,
  and every such page (and the glossary) is listed in ``_toc.yml``;
- every public function and class (a module's ``__all__``, or its public definitions when it has no
  ``__all__``) has a docstring that names the chapter explaining it, and every public constant a
  ``#:`` comment, so that autodoc shows them;
- the glossary defines every term of the course, and every ``{term}`` role in the book points at one
  of its terms;
- in a built book (``GANCOURSE_BOOK_HTML``, as ``make test`` sets for its last stage), every public
  name has its own anchor on a reference page.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import re
from pathlib import Path

import pytest
import yaml
from sphinx.pycode import ModuleAnalyzer

import gancourse

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
REFERENCE = BOOK / "reference"
GLOSSARY = BOOK / "glossary.md"

#: Terms the glossary must define (matched without regard to case).
REQUIRED_TERMS = [
    "generator",
    "discriminator",
    "critic",
    "latent space",
    "latent vector",
    "generative model",
    "discriminative model",
    "adversarial training",
    "alternating training",
    "backpropagation",
    "binary cross-entropy",
    "logit",
    "detach",
    "mode",
    "mode collapse",
    "vanishing gradients",
    "failure to converge",
    "convergence",
    "minimax loss",
    "modified minimax loss",
    "Wasserstein loss",
    "earth mover's distance",
    "Jensen-Shannon divergence",
    "Lipschitz constraint",
    "weight clipping",
    "gradient penalty",
    "least-squares loss",
    "hinge loss",
    "optimal discriminator",
    "Nash equilibrium",
    "unrolled GAN",
    "instance noise",
    "conditional GAN",
    "progressive GAN",
    "DCGAN",
    "image-to-image translation",
    "cycle consistency",
    "super-resolution",
    "inpainting",
    "Fréchet distance",
    "classifier score",
]

#: Public names that do not document themselves yet, each with its fix. The tests below let them
#: pass and fail as soon as one is fixed (then delete its line here), so the list can only shrink.
KNOWN_GAPS: dict[str, str] = {}

CHAPTER_SENTENCE = re.compile(r"Explained in the chapters? ")
AUTOMODULE = re.compile(r"^\.\. automodule:: (\S+)\s*\n((?:[ \t]+:[^\n]*\n)*)", re.M)


# ----------------------------------------------------------------------------------------------
# helpers


def _module_names() -> list[str]:
    names = ["gancourse"]
    for info in pkgutil.walk_packages(gancourse.__path__, prefix="gancourse."):
        if not info.name.endswith("__main__"):  # `python -m gancourse`, documented with gancourse.cli
            names.append(info.name)
    return names


MODULES = [name for name in _module_names() if name != "gancourse"]


def _public_names(module) -> list[str]:
    """``__all__``, or else the public functions, classes and constants the module itself defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    names = []
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            if obj.__module__ == module.__name__:
                names.append(name)
    attr_docs = ModuleAnalyzer.for_module(module.__name__).find_attr_docs()
    names += [name for (scope, name) in attr_docs if scope == "" and not name.startswith("_")]
    return names


def _directives() -> dict[str, tuple[Path, str]]:
    """Module name -> (reference page, options of its automodule directive)."""
    found: dict[str, tuple[Path, str]] = {}
    for page in sorted(REFERENCE.glob("*.md")):
        for match in AUTOMODULE.finditer(page.read_text(encoding="utf-8")):
            assert match.group(1) not in found, f"{match.group(1)} is documented twice"
            found[match.group(1)] = (page, match.group(2))
    return found


def _toc_files(node) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if key in node:
                found.append(str(node[key]))
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                found.extend(_toc_files(child))
    elif isinstance(node, list):
        for child in node:
            found.extend(_toc_files(child))
    return found


def _glossary_definitions() -> dict[str, str]:
    """Term (lower case) -> definition; a definition may span several indented lines."""
    text = GLOSSARY.read_text(encoding="utf-8")
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S)
    assert block, "book/glossary.md must hold a ```{glossary} block"
    entries: list[tuple[list[str], list[str]]] = []  # (terms, definition lines)
    for line in block.group(1).splitlines():
        if not line.strip() or line.startswith(":"):
            continue
        if line[0] not in " \t":
            if not entries or entries[-1][1]:
                entries.append(([], []))
            entries[-1][0].append(line.strip())
        else:
            assert entries, f"definition before any term: {line!r}"
            entries[-1][1].append(line.strip())
    return {term.lower(): " ".join(lines) for terms, lines in entries for term in terms}


def _book_sources() -> list[tuple[Path, str]]:
    sources = []
    for path in sorted(BOOK.rglob("*")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        if path.suffix == ".md":
            sources.append((path, path.read_text(encoding="utf-8")))
        elif path.suffix == ".ipynb":
            nb = json.loads(path.read_text(encoding="utf-8"))
            text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
            sources.append((path, text))
    return sources


def _report(problems: list[str]) -> None:
    """Fail on every problem except the known gaps; fail too when a known gap has been fixed."""
    new = [p for p in problems if p.split(":")[0] not in KNOWN_GAPS]
    assert not new, "\n".join(new)


def _open_gaps() -> set[str]:
    still_open = set()
    for full in KNOWN_GAPS:
        module_name, attr = full.rsplit(".", 1)
        module = importlib.import_module(module_name)
        obj = getattr(module, attr)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            if not CHAPTER_SENTENCE.search(inspect.getdoc(obj) or ""):
                still_open.add(full)
        else:
            documented = {a for (scope, a) in ModuleAnalyzer.for_module(module_name).find_attr_docs() if scope == ""}
            if attr not in documented:
                still_open.add(full)
    return still_open


def test_known_gaps_are_still_open():
    fixed = sorted(set(KNOWN_GAPS) - _open_gaps())
    assert not fixed, f"fixed, so delete them from KNOWN_GAPS in this file: {fixed}"


# ----------------------------------------------------------------------------------------------
# the reference pages


def _page_hint(name: str) -> str:
    short = name.removeprefix("gancourse.")
    return (f"add it to a page under book/reference/ (for example book/reference/{short.split('.')[0]}.md):\n\n"
            f"# `{name}`: <what it holds>\n\n```{{eval-rst}}\n.. automodule:: {name}\n   :members:\n```\n\n"
            "and list the page in _toc.yml under the API reference.")


@pytest.mark.parametrize("name", MODULES)
def test_every_module_has_a_reference_page(name):
    directives = _directives()
    assert name in directives, f"{name} is missing from the API reference: {_page_hint(name)}"
    module = importlib.import_module(name)
    page, options = directives[name]
    if _public_names(module):
        assert ":members:" in options, f"{page.name}: the automodule of {name} needs :members:"
    excluded = re.search(r":exclude-members:(.*)", options)
    if excluded:
        hidden = {n.strip() for n in excluded.group(1).split(",")} & set(_public_names(module))
        assert not hidden, f"{page.name} hides public names of {name}: {sorted(hidden)}"


def test_reference_pages_only_document_real_modules():
    unknown = set(_directives()) - set(MODULES) - {"gancourse"}
    assert not unknown, f"book/reference/ documents modules that do not exist: {sorted(unknown)}"


def test_reference_pages_and_glossary_are_in_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = set(_toc_files(toc))
    pages = [f"book/reference/{page.stem}" for page in sorted(REFERENCE.glob("*.md"))] + ["book/glossary"]
    missing = [page for page in pages if page not in listed]
    assert not missing, f"pages missing from _toc.yml (only listed pages are built): {missing}"


@pytest.mark.parametrize("name", MODULES)
def test_public_functions_and_classes_name_their_chapter(name):
    module = importlib.import_module(name)
    assert module.__doc__ and CHAPTER_SENTENCE.search(module.__doc__), (
        f"{name}: the module docstring must end with 'Explained in the chapter \"<title>\".'"
    )
    problems = []
    for attr in _public_names(module):
        assert hasattr(module, attr), f"{name}.__all__ lists {attr!r}, which does not exist"
        obj = getattr(module, attr)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            doc = inspect.getdoc(obj) or ""
            if not doc:
                problems.append(f"{name}.{attr}: no docstring")
            elif not CHAPTER_SENTENCE.search(doc):
                problems.append(f"{name}.{attr}: the docstring does not say 'Explained in the chapter \"<title>\".'")
    _report(problems)


@pytest.mark.parametrize("name", MODULES)
def test_public_constants_have_a_doc_comment(name):
    """autodoc only shows a module-level constant that has a ``#:`` comment (or docstring) above it."""
    module = importlib.import_module(name)
    documented = {attr for (scope, attr) in ModuleAnalyzer.for_module(name).find_attr_docs() if scope == ""}
    undocumented = [
        f"{name}.{attr}: write a '#: ...' comment on the line above it, or autodoc leaves it out"
        for attr in _public_names(module)
        if not (inspect.isfunction(getattr(module, attr)) or inspect.isclass(getattr(module, attr))
                or inspect.ismodule(getattr(module, attr)) or callable(getattr(module, attr)))
        and attr not in documented
    ]
    _report(undocumented)


# ----------------------------------------------------------------------------------------------
# the glossary


def test_glossary_defines_every_required_term():
    terms = _glossary_definitions()
    missing = [term for term in REQUIRED_TERMS if term.lower() not in terms]
    assert not missing, f"book/glossary.md lacks the terms {missing}"


def test_glossary_definitions_are_sentences_not_stubs():
    short = {term: text for term, text in _glossary_definitions().items() if len(text.split()) < 15}
    assert not short, f"glossary definitions under 15 words: {short}"


def test_every_term_role_in_the_book_names_a_glossary_term():
    terms = _glossary_definitions()
    role = re.compile(r"\{term\}`([^`]+)`")
    unknown = []
    for path, text in _book_sources():
        for target in role.findall(text):
            explicit = re.fullmatch(r"(.*?)\s*<([^>]+)>", target)
            key = (explicit.group(2) if explicit else target).strip().lower()
            if key not in terms:
                unknown.append(f"{path.relative_to(ROOT)}: {{term}}`{target}`")
    assert not unknown, "term roles with no glossary entry:\n" + "\n".join(unknown)


# ----------------------------------------------------------------------------------------------
# the built book


@pytest.mark.browser
def test_built_reference_has_an_anchor_for_every_public_name():
    """Runs against a built book (``make test`` sets GANCOURSE_BOOK_HTML for its last stage)."""
    html_root = os.environ.get("GANCOURSE_BOOK_HTML")
    if not html_root:
        pytest.skip("set GANCOURSE_BOOK_HTML to a built book's _build/html")
    pages = Path(html_root) / "book" / "reference"
    html = "".join(page.read_text(encoding="utf-8") for page in pages.glob("*.html"))
    missing = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in _public_names(module):
            if inspect.ismodule(getattr(module, attr)):
                continue
            if f'id="{name}.{attr}"' not in html:
                missing.append(f"{name}.{attr}")
    assert not missing, f"public names with no entry in the built API reference: {missing}"
