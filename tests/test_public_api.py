"""Each module's `__all__` is exactly the public names it defines."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

PACKAGES = (
    "schemas",
    "protocol",
    "synthetic",
    "wire",
    "mocks",
    "sibs",
    "conformance",
    "reports",
    "interop",
)


def _modules() -> list[str]:
    found = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        found.append(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            last = info.name.rpartition(".")[2]
            if last != "__main__" and not last.startswith("test_"):  # a script; the suite's checks
                found.append(info.name)
    return found


def _defined_public_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 1
            and node.module
            and path.name == "__init__.py"
        ):
            names.update(alias.asname or alias.name for alias in node.names)  # a package's API
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("name", _modules())
def test_all_lists_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    defined = _defined_public_names(Path(module.__file__))
    declared = set(getattr(module, "__all__", ()))
    assert declared == defined
    for public in declared:
        assert hasattr(module, public)


def _readme_api() -> dict[str, set[str]]:
    """The README's table of the packages' public names."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = text[text.index("The packages' public names") :]
    table: dict[str, set[str]] = {}
    for line in section.splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = line.strip("|").split("|")
        if cells[0].strip().startswith("`"):
            names = set(re.findall(r"`(\w+)`", cells[1]))
            table[cells[0].strip().strip("`")] = names
    return table


def test_the_readme_lists_every_package_api_exactly() -> None:
    table = _readme_api()
    assert table, "the README has no table of public names"
    packages_with_api = {
        name for name in PACKAGES if getattr(importlib.import_module(name), "__all__", None)
    }
    assert set(table) == packages_with_api
    for package, names in table.items():
        assert set(importlib.import_module(package).__all__) == names, package


def test_what_the_readme_imports_is_public() -> None:
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and node.module:
                root = node.module.split(".")[0]
                if root in PACKAGES:
                    module = importlib.import_module(node.module)
                    for alias in node.names:
                        assert alias.name in module.__all__, f"{node.module}.{alias.name}"
