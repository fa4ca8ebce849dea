"""No import cycle among graphae's modules, read from the source with ``ast``.

Every ``import``/``from ... import`` of a graphae module counts, at the top of a module or
inside a function: a function-level import only delays a cycle to the first call. Imports
under ``if TYPE_CHECKING:`` do not count (they never run). ``from graphae import x`` is an
arrow to the submodule ``graphae.x`` when there is one, else to the package ``graphae``
(its ``__init__``). A module's implicit import of its parent packages is no arrow: the
package ``graphae`` imports the public API, so every module would otherwise close a cycle
through it. Dynamic imports (``importlib.import_module`` of the registry's
``"module:Class"`` strings) are not read.
"""

import ast
from pathlib import Path

import graphae

PACKAGE = Path(graphae.__file__).resolve().parent


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The graphae modules that module ``name`` imports."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for stmt in child.orelse:
                    visit(stmt)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names if alias.name in modules)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: from the package of this module, up level - 1
                    package = _package_of(name, path).split(".")
                    package = package[: len(package) - child.level + 1]
                    base = ".".join([*package, *([child.module] if child.module else [])])
                for alias in child.names:
                    if f"{base}.{alias.name}" in modules:
                        found.add(f"{base}.{alias.name}")
                    elif base in modules:
                        found.add(base)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    found.discard(name)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (its modules in order, the first repeated at the end), or ``None``."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def walk(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt, path)):
                return found
        path.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := walk(start, [])):
            return found
    return None


def test_graphae_has_no_import_cycle():
    modules = _modules(PACKAGE)
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert "graphae.persistence" in graph["graphae.estimator"]  # the graph is read at all
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles_and_function_level_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n"
        "def f():\n    from .sub import c\n"
    )
    (pkg / "sub" / "c.py").write_text("def g():\n    from ..a import x\n")
    modules = _modules(pkg)
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert graph["pkg.b"] == {"pkg.sub.c"} and graph["pkg.sub.c"] == {"pkg.a"}
    assert _cycle(graph) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]
    (pkg / "sub" / "c.py").write_text("")
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert _cycle(graph) is None
