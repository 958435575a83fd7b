"""The library's shape: its table of contents is complete and its imports form no cycle."""

import ast
import pkgutil
from pathlib import Path

import gancourse

PACKAGE = Path(gancourse.__file__).parent


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages([str(PACKAGE)], prefix="gancourse.")
                  if not m.name.endswith("__main__"))


def test_the_package_docstring_lists_every_top_level_module():
    top = {name.split(".")[1] for name in _modules()}
    missing = sorted(m for m in top if f":mod:`gancourse.{m}`" not in gancourse.__doc__)
    assert not missing, f"gancourse/__init__.py does not list {missing}"


def _imports(name: str) -> set[str]:
    path = PACKAGE.joinpath(*name.split(".")[1:])
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gancourse"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("gancourse"))
    return found


def test_the_import_graph_has_no_cycle():
    """Every import inside the library, lazy ones included, points down a layered graph."""
    modules = set(_modules())
    graph = {m: {i for i in _imports(m) if i in modules and i != m and not m.startswith(i + ".")} for m in modules}
    state: dict[str, int] = {}

    def visit(m, path):
        if state.get(m) == 1:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(m):] + [m]))
        if state.get(m) == 2:
            return
        state[m] = 1
        for n in sorted(graph[m]):
            visit(n, path + [m])
        state[m] = 2

    for m in sorted(modules):
        visit(m, [])
    assert len(graph) > 20  # the walk saw the whole library
