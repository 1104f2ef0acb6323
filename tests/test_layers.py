"""Data flows one way (ARCHITECTURE.md): no package imports a layer above its own, no sub-package
of `mocks` one above it in its table, and no module imports itself through others (no circle)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

MAY_IMPORT: dict[str, set[str]] = {
    "schemas": set(),
    "protocol": {"schemas", "wire"},
    "wire": {"schemas"},
    "synthetic": {"schemas", "protocol"},
    "mocks": {"schemas", "protocol", "synthetic", "wire"},
    "sibs": {"schemas", "protocol", "synthetic", "wire", "mocks"},
    "reports": {"schemas"},
    "conformance": {"schemas", "protocol", "synthetic", "wire", "mocks", "sibs", "reports"},
    "interop": {
        "schemas",
        "protocol",
        "synthetic",
        "wire",
        "mocks",
        "sibs",
        "conformance",
        "reports",
    },
}
"""Each layer and the layers of ours it may import (the table in ARCHITECTURE.md)."""


def _imported_layers(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(MAY_IMPORT)


@pytest.mark.parametrize("layer", list(MAY_IMPORT))
def test_no_layer_imports_upward(layer: str) -> None:
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files, f"no package {layer}"
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imported_layers(path) - MAY_IMPORT[layer] - {layer})
        for path in files
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_every_package_is_a_layer() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == set(MAY_IMPORT)


def test_the_architecture_page_lists_every_layer() -> None:
    page = (ROOT / "ARCHITECTURE.md").read_text()
    for layer in MAY_IMPORT:
        assert f"| `{layer}` |" in page, f"ARCHITECTURE.md has no row for {layer}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for layer in MAY_IMPORT for p in (ROOT / layer).rglob("*.py")}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ours `path` imports, anywhere in it (lazy and type-only imports too): a
    relative import resolved, `from package import module` as that module."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join([*base, node.module] if node.module else base) if node.level else ""
            target = target or (node.module or "")
            for alias in node.names:
                inner = f"{target}.{alias.name}"
                found.add(inner if inner in modules else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return (found & set(modules)) - {name}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of `graph`: its strongly connected parts of more than one module."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for imported in sorted(graph[module]):
            if imported not in order:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], order[imported])
        if low[module] == order[module]:
            part = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(part) > 1:
                circles.append(sorted(part))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return circles


def test_no_import_circle() -> None:
    modules = _modules()
    assert _circles({name: _imports(path, modules) for name, path in modules.items()}) == []


def test_a_circle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]


def _mocks_table() -> dict[str, set[str]]:
    """ARCHITECTURE.md's table of the sub-packages of `mocks`, top to bottom: each and the
    sub-packages it may import."""
    page = (ROOT / "ARCHITECTURE.md").read_text()
    section = page[page.index("## Inside `mocks`") :]
    table: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("| `mocks."):
            table[cells[1].strip(" `").removeprefix("mocks.")] = set(
                re.findall(r"`(\w+)`", cells[2])
            )
    return table


def test_every_module_of_mocks_sits_in_a_sub_package_of_the_table() -> None:
    table = _mocks_table()
    loose = sorted(p.name for p in (ROOT / "mocks").glob("*.py"))
    assert loose == ["__init__.py", "_utils.py"]
    packages = {p.parent.name for p in (ROOT / "mocks").glob("*/__init__.py")}
    assert set(table) == packages
    for package in packages:
        init = ROOT / "mocks" / package / "__init__.py"
        assert ast.get_docstring(ast.parse(init.read_text())), f"mocks.{package} says nothing"
        assert len(list(init.parent.glob("*.py"))) <= 9, f"mocks.{package} holds too much"


def test_each_sub_package_of_mocks_imports_only_those_below_it() -> None:
    table = _mocks_table()
    below = list(table)
    for n, (package, allowed) in enumerate(table.items()):
        assert allowed <= set(below[n + 1 :]), f"mocks.{package} may import one above it"
    modules = _modules()
    wrong = {}
    for name, path in modules.items():
        parts = name.split(".")
        if parts[0] != "mocks" or len(parts) < 3:
            continue
        used = {m.split(".")[1] for m in _imports(path, modules) if m.startswith("mocks.")}
        if extra := used - table[parts[1]] - {parts[1], "_utils"}:
            wrong[name] = sorted(extra)
    assert wrong == {}
