"""Each module's `__all__` is exactly the public names it defines."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

PACKAGES = ("schemas", "protocol", "synthetic", "wire", "mocks", "conformance", "reports")


def _modules() -> list[str]:
    found = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        found.append(package)
        for info in pkgutil.iter_modules(module.__path__, f"{package}."):
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
        elif isinstance(node, ast.ImportFrom) and node.level and path.name == "__init__.py":
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
