#!/usr/bin/env python
"""Keep every Colab link of the course in step with the repository named in ``_config.yml``.

The repository lives in one place: ``repository: url:`` and ``repository: branch:`` in the book's
``_config.yml``. From them this script rewrites

a. the first cell of every notebook under ``book/``: the cell that installs gancourse in Colab and
   does nothing elsewhere, tagged ``remove-cell`` so the book hides it (added when missing, moved to
   the top when it is not first);
b. "Open in Colab" links in markdown cells
   (``https://colab.research.google.com/github/<org>/<repo>/blob/<branch>/book/<name>.ipynb``);
c. the same links in ``README.md``, if it has any.

Usage::

    python scripts/sync_colab.py            # rewrite what drifted
    python scripts/sync_colab.py --check    # change nothing; exit 1 and list each file that drifts
    python scripts/sync_colab.py --root DIR # work on another checkout (the tests use a copy)
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

INSTALL_MARKER = "# Colab only: install gancourse"
INSTALL_TEMPLATE = (
    "# Colab only: install gancourse from the course repository (does nothing elsewhere).\n"
    "import sys\n"
    'if "google.colab" in sys.modules:\n'
    '    %pip install -q "gancourse @ git+{url}@{branch}"'
)
INSTALL_TAG = "remove-cell"
INSTALL_CELL_ID = "colab-install"

# An "Open in Colab" link to a notebook of the book, in Markdown or HTML.
COLAB_LINK = re.compile(
    r"https://colab\.research\.google\.com/github/"
    r"(?P<org>[^/\s]+)/(?P<repo>[^/\s]+)/blob/(?P<branch>[^\s\"'<>()]+?)/(?P<path>book/[^\s\"'<>()]+?\.ipynb)"
)
GITHUB_URL = re.compile(r"^https://github\.com/(?P<org>[^/\s]+)/(?P<repo>[^/\s]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class Repository:
    """The course repository as ``_config.yml`` names it."""

    url: str
    branch: str
    org: str
    name: str

    def install_source(self) -> str:
        """The exact source of the Colab install cell."""
        return INSTALL_TEMPLATE.format(url=self.url, branch=self.branch)

    def colab_link(self, path: str) -> str:
        """The Colab link that opens ``path`` (e.g. ``book/01_x.ipynb``) from this repository."""
        return f"https://colab.research.google.com/github/{self.org}/{self.name}/blob/{self.branch}/{path}"


@dataclass
class Report:
    """What drifted in one file, and what could not be fixed."""

    path: Path
    drift: list[str] = field(default_factory=list)
    unfixable: list[str] = field(default_factory=list)


def read_repository(root: Path) -> Repository:
    """Read ``repository: url`` and ``repository: branch`` from ``root/_config.yml``."""
    config_path = root / "_config.yml"
    if not config_path.is_file():
        raise SystemExit(f"sync_colab: no _config.yml in {root}")
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    repo = config.get("repository") or {}
    url, branch = repo.get("url"), repo.get("branch")
    if not url or not branch:
        raise SystemExit("sync_colab: _config.yml must set both repository.url and repository.branch")
    url = str(url).rstrip("/")
    match = GITHUB_URL.match(url)
    if not match:
        raise SystemExit(
            "sync_colab: repository.url must be a GitHub repository URL "
            f"(Colab opens notebooks from GitHub), got {url!r}"
        )
    return Repository(url=url, branch=str(branch), org=match["org"], name=match["repo"])


def find_notebooks(root: Path) -> list[Path]:
    """Every notebook under ``root/book``, checkpoints and build output left out."""
    skip = {".ipynb_checkpoints", "_build"}
    return sorted(p for p in (root / "book").rglob("*.ipynb") if not skip & set(p.relative_to(root).parts))


def _is_install_cell(cell) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith(INSTALL_MARKER)


def _fix_links(text: str, repo: Repository, root: Path, report: Report) -> str:
    def replace(match: re.Match) -> str:
        path = match["path"]
        if not (root / path).is_file():
            report.unfixable.append(f"Colab link to a missing notebook: {path}")
        return repo.colab_link(path)

    new = COLAB_LINK.sub(replace, text)
    if new != text:
        report.drift.append("Colab link(s) point to another repository or branch")
    return new


def sync_notebook(path: Path, repo: Repository, root: Path, write: bool) -> Report:
    """Bring one notebook's install cell and Colab links in line with ``repo``."""
    report = Report(path)
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    found = [i for i, cell in enumerate(cells) if _is_install_cell(cell)]
    if not found:
        report.drift.append("no Colab install cell")
        cell = nbformat.v4.new_code_cell(repo.install_source())
        if INSTALL_CELL_ID not in {c.get("id") for c in cells}:
            cell.id = INSTALL_CELL_ID
        cells.insert(0, cell)
    elif found[0] != 0:
        report.drift.append("the Colab install cell is not the first cell")
        cells.insert(0, cells.pop(found[0]))
    if len(found) > 1:
        report.unfixable.append("more than one Colab install cell")
    install = cells[0]
    if install.source != repo.install_source():
        report.drift.append(f"install cell differs from _config.yml ({repo.url}@{repo.branch})")
        install.source = repo.install_source()
    tags = list(install.metadata.get("tags", []))
    if INSTALL_TAG not in tags:
        report.drift.append(f"install cell is not tagged {INSTALL_TAG}")
        install.metadata["tags"] = tags + [INSTALL_TAG]
    for cell in cells:
        if cell.cell_type == "markdown":
            cell.source = _fix_links(cell.source, repo, root, report)
    if report.drift and write:
        nbformat.write(nb, path)
    return report


def sync_readme(path: Path, repo: Repository, root: Path, write: bool) -> Report:
    """Bring the README's Colab links in line with ``repo``."""
    report = Report(path)
    text = path.read_text(encoding="utf-8")
    new = _fix_links(text, repo, root, report)
    if new != text and write:
        path.write_text(new, encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything drifts")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the repository root (default: this script's checkout)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    repo = read_repository(root)
    reports = [sync_notebook(p, repo, root, write=not args.check) for p in find_notebooks(root)]
    readme = root / "README.md"
    if readme.is_file():
        reports.append(sync_readme(readme, repo, root, write=not args.check))

    drifting = [r for r in reports if r.drift]
    broken = [r for r in reports if r.unfixable]
    for r in reports:
        name = r.path.relative_to(root).as_posix()
        for problem in r.drift:
            print(f"{name}: {problem}" + ("" if args.check else " (fixed)"))
        for problem in r.unfixable:
            print(f"{name}: {problem} (fix by hand)")
    if args.check:
        if drifting or broken:
            print(f"{len({r.path for r in drifting + broken})} file(s) out of step with _config.yml; "
                  "run `make sync-colab` to fix them.")
            return 1
        print(f"Colab cells and links match {repo.url}@{repo.branch} in {len(reports)} file(s).")
        return 0
    print(f"Synced {len(drifting)} of {len(reports)} file(s) with {repo.url}@{repo.branch}.")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
