"""Colab: the install cell of every notebook, scripts/sync_colab.py, and ipywidgets 7 compatibility."""

from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
import sys
import textwrap
import types
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "sync_colab.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("sync_colab", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


sync_colab = _load_script()
NOTEBOOKS = sync_colab.find_notebooks(ROOT)


def run_script(*args: str) -> subprocess.CompletedProcess:
    """The script as the Makefile runs it, in its own process."""
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def sync(capsys):
    """The script's main(), run in this process (faster): returns code, stdout and stderr."""

    def run(*args: str) -> types.SimpleNamespace:
        try:
            code = sync_colab.main(list(args))
            message = ""
        except SystemExit as exit:  # bad configuration: SystemExit("sync_colab: ...")
            code, message = (1, str(exit.code)) if isinstance(exit.code, str) else (exit.code, "")
        captured = capsys.readouterr()
        return types.SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err + message)

    return run


# ------------------------------------------------------------------ the notebooks of this repository


@pytest.fixture(scope="module")
def repository():
    if not (ROOT / "_config.yml").is_file():
        pytest.skip("no _config.yml at the repository root yet")
    return sync_colab.read_repository(ROOT)


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebook under book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_starts_with_the_install_cell_of_config(path, repository):
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "code"
    assert first.source == repository.install_source(), (
        f"{path.name}: the first cell is not the Colab install cell for {repository.url}@{repository.branch}; "
        "run `make sync-colab`"
    )
    assert "remove-cell" in first.metadata.get("tags", [])


def test_repository_check_passes(repository):
    result = run_script("--check", "--root", str(ROOT))
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------ the drift check, on a copy


CONFIG = textwrap.dedent(
    """\
    title: test
    repository:
      url: https://github.com/someorg/somecourse
      branch: main
    """
)


def _notebook(cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture
def copy_repo(tmp_path):
    """A small repository: _config.yml, a README, the quiz chapter and two other notebooks."""
    (tmp_path / "_config.yml").write_text(CONFIG, encoding="utf-8")
    book = tmp_path / "book"
    book.mkdir()
    shutil.copy(ROOT / "book" / "07_check_your_understanding.ipynb", book / "07_quiz.ipynb")
    badge = ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
             "(https://colab.research.google.com/github/oldorg/oldrepo/blob/dev/book/01_a.ipynb)")
    nbformat.write(_notebook([nbformat.v4.new_markdown_cell(badge), nbformat.v4.new_code_cell("x = 1")]),
                   book / "01_a.ipynb")
    nbformat.write(_notebook([nbformat.v4.new_code_cell("y = 2")]), book / "02_b.ipynb")
    (tmp_path / "README.md").write_text(
        "Open https://colab.research.google.com/github/oldorg/oldrepo/blob/dev/book/02_b.ipynb in Colab.\n",
        encoding="utf-8",
    )
    checkpoints = book / ".ipynb_checkpoints"
    checkpoints.mkdir()
    nbformat.write(_notebook([nbformat.v4.new_code_cell("stale = True")]), checkpoints / "01_a-checkpoint.ipynb")
    return tmp_path


def test_sync_then_check_on_a_copy(copy_repo, sync):
    check = sync("--check", "--root", str(copy_repo))
    assert check.returncode == 1
    out = check.stdout
    assert "book/07_quiz.ipynb: install cell differs from _config.yml" in out
    assert "book/01_a.ipynb: no Colab install cell" in out
    assert "book/01_a.ipynb: Colab link(s) point to another repository or branch" in out
    assert "README.md: Colab link(s)" in out
    assert "checkpoint" not in out
    before = (copy_repo / "book" / "02_b.ipynb").read_text(encoding="utf-8")

    fix = sync("--root", str(copy_repo))
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert sync("--check", "--root", str(copy_repo)).returncode == 0
    assert (copy_repo / "book" / "02_b.ipynb").read_text(encoding="utf-8") != before

    repo = sync_colab.read_repository(copy_repo)
    for name in ("01_a.ipynb", "02_b.ipynb", "07_quiz.ipynb"):
        nb = nbformat.read(copy_repo / "book" / name, as_version=4)
        assert nb.cells[0].source == repo.install_source()
        assert nb.cells[0].metadata["tags"] == ["remove-cell"]
        assert 'git+https://github.com/someorg/somecourse@main"' in nb.cells[0].source
    a = nbformat.read(copy_repo / "book" / "01_a.ipynb", as_version=4)
    assert "https://colab.research.google.com/github/someorg/somecourse/blob/main/book/01_a.ipynb" in a.cells[1].source
    assert [c.source for c in a.cells[2:]] == ["x = 1"]  # the rest is untouched
    readme = (copy_repo / "README.md").read_text(encoding="utf-8")
    assert "github/someorg/somecourse/blob/main/book/02_b.ipynb" in readme


def test_check_catches_one_modified_notebook(copy_repo, sync):
    assert sync("--root", str(copy_repo)).returncode == 0
    path = copy_repo / "book" / "07_quiz.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace("@main", "@dev")
    nbformat.write(nb, path)

    check = run_script("--check", "--root", str(copy_repo))  # the real command line, exit code included
    assert check.returncode == 1
    drifting = [line for line in check.stdout.splitlines() if line.startswith("book/")]
    assert drifting == ["book/07_quiz.ipynb: install cell differs from _config.yml (https://github.com/someorg/somecourse@main)"]
    assert nbformat.read(path, as_version=4).cells[0].source.endswith('@dev"')  # --check changes nothing


def test_check_catches_a_misplaced_or_untagged_cell(copy_repo, sync):
    assert sync("--root", str(copy_repo)).returncode == 0
    path = copy_repo / "book" / "02_b.ipynb"
    nb = nbformat.read(path, as_version=4)
    install = nb.cells.pop(0)
    install.metadata["tags"] = []
    nb.cells.append(install)
    nbformat.write(nb, path)
    out = sync("--check", "--root", str(copy_repo)).stdout
    assert "book/02_b.ipynb: the Colab install cell is not the first cell" in out
    assert "book/02_b.ipynb: install cell is not tagged remove-cell" in out
    assert sync("--root", str(copy_repo)).returncode == 0
    fixed = nbformat.read(path, as_version=4)
    assert len(fixed.cells) == 2 and fixed.cells[0].metadata["tags"] == ["remove-cell"]


def test_changing_the_branch_in_config_is_the_one_edit_needed(copy_repo, sync):
    assert sync("--root", str(copy_repo)).returncode == 0
    (copy_repo / "_config.yml").write_text(CONFIG.replace("branch: main", "branch: v2"), encoding="utf-8")
    out = sync("--check", "--root", str(copy_repo)).stdout
    assert out.count("install cell differs") == 3
    assert sync("--root", str(copy_repo)).returncode == 0
    nb = nbformat.read(copy_repo / "book" / "01_a.ipynb", as_version=4)
    assert nb.cells[0].source.endswith('git+https://github.com/someorg/somecourse@v2"')
    assert "/blob/v2/book/01_a.ipynb" in nb.cells[1].source


def test_link_to_a_missing_notebook_is_reported(copy_repo, sync):
    readme = copy_repo / "README.md"
    readme.write_text("https://colab.research.google.com/github/someorg/somecourse/blob/main/book/99_gone.ipynb\n")
    result = sync("--root", str(copy_repo))
    assert result.returncode == 1 and "README.md: Colab link to a missing notebook: book/99_gone.ipynb" in result.stdout


@pytest.mark.parametrize(
    "config, problem",
    [("title: x\n", "repository.url and repository.branch"),
     ("repository:\n  url: https://github.com/a/b\n", "repository.url and repository.branch"),
     ("repository:\n  url: https://gitlab.com/a/b\n  branch: main\n", "GitHub repository URL")],
)
def test_bad_config_is_explained(tmp_path, config, problem, sync):
    (tmp_path / "_config.yml").write_text(config, encoding="utf-8")
    (tmp_path / "book").mkdir()
    result = sync("--check", "--root", str(tmp_path))
    assert result.returncode != 0 and problem in result.stderr


# ------------------------------------------------------------------ the install cell's behaviour


class FakeIPython:
    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, line):
        self.magics.append((name, line))


def _run_install_cell(source: str) -> list:
    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell(source)
    shell = FakeIPython()
    exec(compile(code, "<install cell>", "exec"), {"get_ipython": lambda: shell})
    return shell.magics


@pytest.fixture
def install_source():
    # The real cell of a real notebook, not the template.
    return nbformat.read(ROOT / "book" / "07_check_your_understanding.ipynb", as_version=4).cells[0].source


def test_install_cell_installs_in_colab(monkeypatch, install_source, repository):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    magics = _run_install_cell(install_source)
    assert magics == [("pip", f'install -q "gancourse @ git+{repository.url}@{repository.branch}"')]


def test_install_cell_does_nothing_elsewhere(monkeypatch, install_source):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert _run_install_cell(install_source) == []


# ------------------------------------------------------------------ ipywidgets 7 compatibility

# Every ipywidgets class, constructor keyword, attribute and method that the live widgets use: the
# quiz (gancourse/quiz/widget.py) and the explorer (gancourse/explorer.py), both of which take the
# module from gancourse.quiz.widget.widgets_module(). Verified against ipywidgets 7.7.1, the version
# Colab ships:
#   1. `pip download ipywidgets==7.7.1 --no-deps`, then read the traits and methods of each class in
#      the wheel's ipywidgets/widgets/*.py (widget.py: model_id; domwidget.py: add_class, layout;
#      widget_bool.py: Checkbox.indent; widget_selection.py: RadioButtons options/index=None,
#      Dropdown, ToggleButtons (_Selection: options, value; ToggleButtonsStyle);
#      widget_string.py: Text placeholder, continuous_update, HTML value;
#      widget_button.py: description, tooltip, button_style, on_click, click;
#      widget_int.py: IntSlider value, min, max, step (SliderStyle has description_width);
#      widget_float.py: FloatLogSlider value, base, min, max, step, readout_format;
#      widget_description.py: description, style (DescriptionStyle.description_width);
#      widget_box.py: VBox, HBox children; traitlets: observe(handler, names="value"));
#   2. tests/test_quiz.py and tests/test_quiz_widgets.py pass in a venv with ipywidgets 7.7.1,
#      IPython 7.34.0 and ipykernel 6.17.1 (Colab's versions); there test_api_list_holds_for_the_installed_ipywidgets
#      below also checks each name against the installed 7.7.1;
#   3. the chapter ran in Jupyter Notebook 6.5.7 with widgetsnbextension 3.6 (ipywidgets 7's front end)
#      in headless Chromium, answered by clicking.
# Add a name here only after checking it the same way.
IPYWIDGETS7_API = {
    "HTML": {"value", "add_class", "layout"},
    "RadioButtons": {"options", "index", "value", "layout"},
    "Checkbox": {"value", "description", "indent", "layout"},
    "Text": {"value", "placeholder", "description", "continuous_update"},
    "Button": {"description", "tooltip", "button_style", "on_click", "click"},
    "VBox": {"children", "add_class", "model_id", "layout"},
    "HBox": {"children"},
    "Layout": {"width"},
    "Dropdown": {"options", "value", "description", "style", "observe"},
    "ToggleButtons": {"options", "value", "description", "style", "observe"},
    "IntSlider": {"value", "min", "max", "step", "description", "style", "observe"},
    "FloatLogSlider": {"value", "base", "min", "max", "step", "description", "readout_format", "style", "observe"},
}
# The modules that build widgets, each with `w = widgets_module()`.
WIDGET_SOURCES = ["gancourse/quiz/widget.py", "gancourse/explorer.py"]


def test_api_list_holds_for_the_installed_ipywidgets():
    ipywidgets = pytest.importorskip("ipywidgets")
    for name, members in IPYWIDGETS7_API.items():
        cls = getattr(ipywidgets, name)
        for member in members:
            assert hasattr(cls, member) or cls.class_traits().get(member) is not None, (
                f"ipywidgets {ipywidgets.__version__}: {name}.{member} is missing"
            )


@pytest.mark.parametrize("source", WIDGET_SOURCES)
def test_widget_source_uses_only_listed_widget_api(source):
    """Static check: every `w.Class(keyword=...)` in a module that builds widgets, with `w = widgets_module()`."""
    tree = ast.parse((ROOT / source).read_text(encoding="utf-8"))
    module_names = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) == "widgets_module"
        for target in node.targets if isinstance(target, ast.Name)
    }
    assert module_names == {"w"}
    used = defaultdict(set)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in module_names:
            used[node.attr]  # a class (or any attribute) taken from the ipywidgets module
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id in module_names):
            assert not node.args, f"line {node.lineno}: pass widget options by keyword"
            used[node.func.attr].update(kw.arg for kw in node.keywords)
    assert used, "no ipywidgets use found: has the module changed how it imports ipywidgets?"
    for name, keywords in used.items():
        assert name in IPYWIDGETS7_API, f"ipywidgets.{name} is not in the list verified against 7.7.1"
        assert keywords <= IPYWIDGETS7_API[name], f"{name}({', '.join(keywords - IPYWIDGETS7_API[name])}=...)"


def test_quiz_at_run_time_uses_only_listed_widget_api(monkeypatch):
    """Run-time check: record what gancourse/quiz/widget.py itself touches while a whole quiz is answered."""
    ipywidgets = pytest.importorskip("ipywidgets")
    from gancourse import quiz as Q
    from gancourse.quiz import widget as W

    quiz_file = W.__file__
    used = defaultdict(set)
    wrapped = {}

    def record(cls_name, attr):
        if not attr.startswith("_") and sys._getframe(2).f_code.co_filename == quiz_file:
            used[cls_name].add(attr)

    def wrap(name, cls):
        if name not in wrapped:
            def __init__(self, *args, **kwargs):
                if sys._getframe(1).f_code.co_filename == quiz_file:
                    used[name].update(kwargs)
                cls.__init__(self, *args, **kwargs)

            def __getattribute__(self, attr):
                record(name, attr)
                return cls.__getattribute__(self, attr)

            def __setattr__(self, attr, value):
                record(name, attr)
                cls.__setattr__(self, attr, value)

            wrapped[name] = type(name, (cls,), {"__init__": __init__, "__getattribute__": __getattribute__,
                                                "__setattr__": __setattr__})
        return wrapped[name]

    class RecordingModule:
        def __getattr__(self, name):
            value = getattr(ipywidgets, name)
            used[name]
            return wrap(name, value) if isinstance(value, type) else value

    monkeypatch.setattr(W, "widgets_module", lambda: RecordingModule())
    quiz = Q.quiz("gan_anatomy")
    live = quiz.widget
    for qw in live.questions:
        qw.button.click()  # empty answer first
        if qw.question.kind == "numeric":
            qw.control.value = "0.5"
        elif qw.question.kind == "multiple":
            qw.checkboxes[0].value = True
        else:
            qw.control.value = 0
        qw.button.click()
    quiz.mimebundle()

    assert {"RadioButtons", "Checkbox", "Text", "Button", "VBox", "HTML"} <= set(used)
    for name, members in used.items():
        assert name in IPYWIDGETS7_API, f"ipywidgets.{name} is not in the list verified against 7.7.1"
        assert members <= IPYWIDGETS7_API[name], f"{name}: {sorted(members - IPYWIDGETS7_API[name])}"
