"""Data flows one way (ARCHITECTURE.md): no package imports a layer above its own."""

from __future__ import annotations

import ast
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
