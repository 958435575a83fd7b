"""Checks on the files that hold the project together.

- pyproject.toml and environment.yml name the same dependencies;
- constraints.txt pins every direct dependency, with versions pyproject.toml accepts, and pins
  nothing that gancourse does not depend on;
- _config.yml executes every notebook, fails on errors and builds correct Colab links;
- _toc.yml and the notebooks under book/ agree;
- committed notebooks carry no outputs (the book executes them itself).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import re
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

# Names that differ between PyPI (pyproject) and conda-forge (environment.yml).
PIP_TO_CONDA = {"torch": "pytorch"}
# Entries of environment.yml that are the environment itself, not dependencies of gancourse.
CONDA_BASE = {"python", "pip"}


# ----------------------------------------------------------------------------------------------
# helpers


def _pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _direct_requirements() -> dict[str, list[Requirement]]:
    """Requirements of pyproject.toml by group: "runtime" and one entry per extra."""
    project = _pyproject()["project"]
    groups = {"runtime": project.get("dependencies", [])}
    groups.update(project.get("optional-dependencies", {}))
    return {group: [Requirement(r) for r in reqs] for group, reqs in groups.items()}


def _all_direct() -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for reqs in _direct_requirements().values() for r in reqs}


def _conda_name(pip_name: str) -> str:
    name = canonicalize_name(pip_name)
    return PIP_TO_CONDA.get(name, name)


def _environment() -> tuple[dict[str, str], dict[str, str]]:
    """(conda specs, pip specs) of environment.yml, each a dict normalised name -> version spec."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env.get("channels") == ["conda-forge"], "environment.yml must use conda-forge only"
    conda, pip = {}, {}
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            assert set(entry) == {"pip"}, f"unexpected mapping in environment.yml: {entry}"
            for line in entry["pip"]:
                if line.startswith("-"):  # options such as "-e ." (the project itself)
                    continue
                req = Requirement(line)
                pip[canonicalize_name(req.name)] = str(req.specifier)
            continue
        match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*", str(entry))
        assert match, f"cannot parse conda spec {entry!r}"
        conda[canonicalize_name(match.group(1))] = match.group(2)
    return conda, pip


def _constraints() -> dict[str, str]:
    """Pins of constraints.txt: normalised name -> exact version."""
    pins: dict[str, str] = {}
    for number, raw in enumerate((ROOT / "constraints.txt").read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;,]+)", line)
        assert match, f"constraints.txt line {number} is not an exact pin 'name==version': {raw!r}"
        name = canonicalize_name(match.group(1))
        assert name not in pins, f"{name} is pinned twice in constraints.txt"
        pins[name] = match.group(2)
    return pins


def _toc_files(node) -> list[str]:
    """Every `root:`/`file:` entry of a _toc.yml tree, in order."""
    found: list[str] = []
    if isinstance(node, dict):
        assert "glob" not in node, "list chapters one by one in _toc.yml (no glob), so the order is explicit"
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


def _book_notebooks() -> list[Path]:
    return sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


# ----------------------------------------------------------------------------------------------
# dependencies


def test_pyproject_has_runtime_deps_and_the_three_extras():
    groups = _direct_requirements()
    assert {"book", "test", "dev"} <= set(groups)
    runtime = {canonicalize_name(r.name): r for r in groups["runtime"]}
    for name in ("torch", "numpy", "matplotlib", "ipywidgets", "scikit-learn", "scipy"):
        assert name in runtime, f"{name} missing from the runtime dependencies"
    # Colab ships ipywidgets 7.x and its own CUDA torch: neither may be forced to change.
    assert runtime["ipywidgets"].specifier.contains("7.7.1"), "ipywidgets 7.x (Colab) must stay allowed"
    assert runtime["torch"].specifier.contains("2.5.0"), "torch must stay loosely bounded"
    assert not any(s.operator in ("==", "===", "~=") for r in runtime.values() for s in r.specifier), (
        "runtime dependencies stay loose (exact versions belong in constraints.txt)"
    )
    book = {canonicalize_name(r.name): r for r in groups["book"]}
    assert "jupyter-book" in book and not book["jupyter-book"].specifier.contains("2.0.0"), (
        "the book needs Jupyter Book 1.x (2.x does not read _config.yml/_toc.yml)"
    )


def test_environment_yml_names_exactly_the_pyproject_dependencies():
    conda, pip = _environment()
    env_names = (set(conda) - CONDA_BASE) | set(pip)
    wanted = {_conda_name(name) for name in _all_direct()}
    missing = wanted - env_names
    extra = env_names - wanted
    assert not missing, f"in pyproject.toml but not in environment.yml: {sorted(missing)}"
    assert not extra, f"in environment.yml but not in pyproject.toml: {sorted(extra)}"
    assert not set(conda) & set(pip), "a package is listed both for conda and for pip"
    assert "python" in conda and "pip" in conda


def test_environment_yml_version_bounds_match_pyproject():
    conda, pip = _environment()
    specs = {**conda, **pip}
    for name, req in _all_direct().items():
        env_spec = specs[_conda_name(name)]
        try:
            env_set = SpecifierSet(env_spec)
        except InvalidSpecifier:
            pytest.fail(f"environment.yml: write {_conda_name(name)}'s bound as pyproject does ({req.specifier})")
        assert env_set == req.specifier, (
            f"{name}: pyproject.toml says {str(req.specifier)!r}, environment.yml says {env_spec!r}"
        )


def test_constraints_pin_every_direct_dependency_within_its_bounds():
    pins = _constraints()
    for name, req in _all_direct().items():
        assert name in pins, f"{name} (a direct dependency) is not pinned in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {req.specifier}"
        )


def test_torch_pin_takes_the_cpu_wheel_without_a_local_label():
    pins = _constraints()
    assert pins["torch"] == "2.13.0", "torch must be pinned to exactly 2.13.0 (not '+cpu', not unpinned)"


def test_constraints_pin_only_packages_gancourse_depends_on():
    """Every pin names a package of the dependency closure of gancourse (all extras included)."""
    roots = _all_direct()
    not_installed = sorted(name for name in roots if not _installed(name))
    if not_installed:
        pytest.skip(f"needs the project environment (make venv); not installed: {not_installed}")
    closure = _closure({name: set(req.extras) for name, req in roots.items()})
    stray = sorted(set(_constraints()) - closure)
    assert not stray, f"constraints.txt pins packages nothing depends on: {stray}"


def _installed(name: str) -> bool:
    try:
        md.distribution(name)
    except md.PackageNotFoundError:
        return False
    return True


def _closure(roots: dict[str, set[str]]) -> set[str]:
    """Names of every installed distribution reachable from ``roots`` (name -> extras)."""
    seen: dict[str, set[str]] = {}
    stack = list(roots.items())
    while stack:
        name, extras = stack.pop()
        key = canonicalize_name(name)
        if key in seen and extras <= seen[key]:
            continue
        seen.setdefault(key, set()).update(extras)
        try:
            requires = md.distribution(name).requires or []
        except md.PackageNotFoundError:
            continue
        for line in requires:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in {""} | extras):
                stack.append((req.name, set(req.extras)))
    return set(seen)


def test_pyproject_ships_package_data_and_never_collects_build_copies():
    pyproject = _pyproject()
    data = pyproject["tool"]["setuptools"]["package-data"]["gancourse"]
    assert "**/*.json" in data and "**/*.pt" in data, "quiz banks (*.json) and weights (*.pt) must ship"
    pytest_cfg = pyproject["tool"]["pytest"]["ini_options"]
    assert "_build" in pytest_cfg["norecursedirs"], "notebooks copied under _build/ must not be collected"
    assert ".ipynb_checkpoints" in pytest_cfg["norecursedirs"]
    assert any(m.split(":")[0].strip() == "browser" for m in pytest_cfg["markers"])


# ----------------------------------------------------------------------------------------------
# the book


def test_config_executes_every_notebook_and_fails_on_errors():
    execute = _config()["execute"]
    assert execute["execute_notebooks"] == "force"
    assert execute["allow_errors"] is False
    assert execute["raise_on_error"] is True
    assert int(execute["timeout"]) >= 600, "the per-cell timeout must leave room for full-size training"


def test_config_builds_only_the_toc_and_excludes_non_book_folders():
    config = _config()
    assert config["only_build_toc_files"] is True
    excluded = set(config["exclude_patterns"])
    assert {"_build", ".venv", "tests", "gancourse"} <= excluded
    assert ".*" in excluded, "hidden folders (.pytest_cache, .github) must not become pages"


def test_config_repository_and_colab_links():
    config = _config()
    repo = config["repository"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repo["url"]), repo["url"]
    assert repo["branch"] == "main", "without a branch the links point at 'master'"
    # Page names already start with "book/": a path_to_book would give ".../book/book/..." links.
    assert not repo.get("path_to_book"), "leave path_to_book out (Colab links would be broken)"
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert config["html"]["use_repository_button"] is True
    assert config["html"]["use_issues_button"] is True


def test_toc_and_notebooks_agree():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert toc["format"] == "jb-book"
    assert toc["root"] == "book/index", "the book opens on the Welcome notebook"
    entries = _toc_files(toc)
    assert len(entries) == len(set(entries)), f"duplicate entries in _toc.yml: {entries}"
    for entry in entries:
        assert Path(entry).suffix == "", f"write _toc.yml entries without extension: {entry}"
        candidates = [ROOT / f"{entry}{ext}" for ext in (".ipynb", ".md")]
        assert any(p.is_file() for p in candidates), f"_toc.yml lists {entry}, which does not exist"
    listed = {ROOT / f"{entry}.ipynb" for entry in entries}
    unlisted = [str(p.relative_to(ROOT)) for p in _book_notebooks() if p not in listed]
    assert not unlisted, f"notebooks missing from _toc.yml: {unlisted}"


@pytest.mark.parametrize("path", _book_notebooks(), ids=lambda p: str(p.relative_to(BOOK)))
def test_committed_notebook_has_no_outputs(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts (run nbstripout)"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: saved widget state (run nbstripout)"


def test_packaging_conventions():
    """A console command beside `python -m gancourse`, type information, a changelog and a citation file."""
    import importlib

    import tomllib
    import yaml

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    target = project["project"]["scripts"]["gancourse"]
    module, _, name = target.partition(":")
    assert callable(getattr(importlib.import_module(module), name)), target
    assert (ROOT / "gancourse" / "py.typed").is_file()
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["gancourse"]
    assert (ROOT / "CHANGELOG.md").read_text(encoding="utf-8").startswith("# Changelog")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0" and citation["title"] and citation["authors"]
    assert citation["license"] == project["project"]["license"]
    import gancourse

    assert citation["version"] == gancourse.__version__ == project["project"]["version"]


def _notebook_imports(path: Path) -> set[str]:
    """Top-level names of the modules a notebook's code cells import (shell and magic lines skipped)."""
    import ast
    import sys

    found = set()
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        lines = "".join(cell["source"]).splitlines()
        # a magic or shell line becomes `pass` at its indentation, so the cell still parses as Python
        source = "\n".join(line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!"))
                           else line for line in lines)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names}


def test_every_notebook_import_is_a_declared_dependency():
    """A learner who installs gancourse (and a kernel) can run every chapter: no module arrives by luck,
    as pandas once did through mlxtend."""
    distribution = {"sklearn": "scikit-learn", "IPython": "ipykernel", "gancourse": "gancourse"}
    declared = set(_all_direct()) | {"gancourse"}
    for notebook in _book_notebooks():
        for module in sorted(_notebook_imports(notebook)):
            name = canonicalize_name(distribution.get(module, module))
            assert name in declared, f"{notebook.name} imports {module}, which no dependency in pyproject.toml provides"
