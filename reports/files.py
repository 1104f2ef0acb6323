"""A signed report written in every format beside its JSON, and re-rendered from the JSON alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemas

from .html import render_html
from .junit import render_junit
from .markdown import render_markdown

__all__ = ["FORMATS", "render", "write_all"]

FORMATS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "html": ("report.html", render_html),
    "junit": ("junit.xml", render_junit),
    "md": ("summary.md", render_markdown),
}
"""Each format: its file name and its renderer."""


def render(report: dict[str, Any], fmt: str) -> str:
    """The report in one format (`html`, `junit` or `md`), once it validates against
    `schemas/report.json` (`SchemaViolation` otherwise)."""
    if fmt not in FORMATS:
        raise ValueError(f"no format {fmt!r}; known: {', '.join(FORMATS)}")
    schemas.validate("report", report)
    return FORMATS[fmt][1](report)


def write_all(report: dict[str, Any], folder: str | Path) -> dict[str, Path]:
    """Write report.json and every rendering into `folder`; the paths by format."""
    schemas.validate("report", report)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = {"json": out / "report.json"}
    written["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    for fmt, (name, renderer) in FORMATS.items():
        written[fmt] = out / name
        written[fmt].write_text(renderer(report))
    return written
