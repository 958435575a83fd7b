"""Build the quick book from the notebooks nbval already executed, without running them again.

    python scripts/quick_book.py EXECUTED OUT [jupyter-book options...]

``EXECUTED`` is the folder that ``pytest -p nbval_outputs --nbval-keep-outputs=EXECUTED`` filled
(see ``scripts/nbval_outputs.py``). The script stages a copy of the book's sources in
``OUT/src`` (``_config.yml`` with execution switched off, ``_toc.yml``, ``book/``), puts every
executed notebook in place of its unexecuted twin, and runs ``jupyter-book build`` on it with the
HTML going to ``OUT/_build/html``. Every notebook listed in ``_toc.yml`` must have been executed:
a missing one (its nbval run failed, or nbval did not run) stops the build with its name.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_notebooks() -> list[str]:
    """The notebooks the table of contents lists, as paths relative to the root."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [f"{f}.ipynb" for f in files if (ROOT / f"{f}.ipynb").is_file()]


def stage(executed: Path, out: Path) -> Path:
    missing = [nb for nb in toc_notebooks() if not (executed / nb).is_file()]
    if missing:
        raise SystemExit(
            f"quick_book: no executed copy in {executed} of: {', '.join(missing)}\n"
            "(each comes from a passing nbval run: run `make test-notebooks` first)"
        )
    src = out / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    shutil.copytree(ROOT / "book", src / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy2(ROOT / "_toc.yml", src / "_toc.yml")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["execute"]["execute_notebooks"] = "off"
    (src / "_config.yml").write_text(
        "# Staged by scripts/quick_book.py: the notebooks below carry nbval's outputs.\n"
        + yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    for nb in toc_notebooks():
        shutil.copy2(executed / nb, src / nb)
    return src


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    executed, out = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    src = stage(executed, out)
    sibling = Path(sys.executable).parent / "jupyter-book"  # the one installed beside this Python
    program = str(sibling) if sibling.is_file() else "jupyter-book"
    command = [program, "build", "--all", str(src), "--path-output", str(out), *argv[2:]]
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
