"""The layer rule of `wire`: it imports only `schemas`, and the layers below it never import it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"schemas", "protocol", "wire", "mocks", "conformance", "reports"}


def _imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("path", sorted((ROOT / "wire").glob("*.py")), ids=lambda p: p.name)
def test_wire_imports_only_schemas(path: Path) -> None:
    assert _imported(path) <= {"schemas"}


@pytest.mark.parametrize("package", ["schemas"])
def test_the_layer_below_never_imports_wire(package: str) -> None:
    for path in (ROOT / package).rglob("*.py"):
        assert "wire" not in _imported(path), path
