"""Timelines: each transaction of a check (from its CAR or CPI on) as an SVG drawn to virtual
time, its NLETS leg among them (the LEA's name-based IAQ naming the transaction and LESC's IAR
answering that IAQ, on the NLETS lane and at the LEA), on a scale that keeps the first minutes and
the 24-hour paths both visible, with labels that never collide (a label that would is left to the
point's tooltip; equal points merge into one labelled "x2"). The events that broke the rule (the
check's highlighted evidence) are drawn in the failure colour with class `defect`; every other
event is grey."""

from __future__ import annotations

import math
from collections.abc import Set
from datetime import datetime
from html import escape
from typing import Any

__all__ = ["timeline_svg", "transactions"]

_LANES = ("CJIS", "IDENT", "LESC", "DRO", "NLETS", "SIB", "LEA")
_CHANNEL_LANE = {
    "cjis": "CJIS",
    "cjis-fault": "CJIS",
    "ident": "IDENT",
    "lesc": "LESC",
    "dro": "DRO",
    "nlets": "NLETS",
    "nlets-fault": "NLETS",
    "nlets-iar": "NLETS",
}
_TICKS = ((60, "1 min"), (900, "15 min"), (4 * 3600, "4 h"), (24 * 3600, "24 h"))
_WIDTH, _LEFT, _LANE_H, _CHAR_W = 980, 60, 32, 6.2
_EVENT, _DEFECT = "#8c8c8c", "#b3261e"


def _lane(entry: dict[str, Any]) -> str:
    channel = str(entry["channel"])
    return "LEA" if channel.startswith("lea:") else _CHANNEL_LANE.get(channel, "SIB")


def _label(entry: dict[str, Any]) -> str:
    return str(entry["tot"]) if entry.get("tot") else "not JSON"


def transactions(
    report: dict[str, Any],
) -> list[tuple[dict[str, Any], list[tuple[str, list[dict[str, Any]]]]]]:
    """Each check with a transaction (failures first) and all its transactions: (TCN, entries
    in virtual-time order)."""
    order = {"failed": 0, "error": 1}
    checks = sorted(report["checks"], key=lambda c: (order.get(c["outcome"], 2), c["name"]))
    found = []
    for check in checks:
        by_tcn: dict[str, list[dict[str, Any]]] = {}
        for entry in check["evidence"]:
            if entry["channel"] == "cjis" and entry["tcn"]:
                by_tcn.setdefault(str(entry["tcn"]), [])
        # an NLETS IAQ names the transaction (tcr); its IAR names the IAQ (tcr: the IAQ's tcn)
        via = {
            str(e["tcn"]): str(e["tcr"])
            for e in check["evidence"]
            if e["channel"] == "nlets" and e["tcr"] in by_tcn
        }
        for entry in check["evidence"]:
            about = entry["tcn"] if entry["channel"] in ("cjis", "cjis-fault") else entry["tcr"]
            about = via.get(str(about), about)
            if about in by_tcn:
                by_tcn[str(about)].append(entry)
        if by_tcn:
            found.append(
                (
                    check,
                    [(t, sorted(e, key=lambda x: x["virtual_time"])) for t, e in by_tcn.items()],
                )
            )
    return found


def _x(seconds: float, span: float) -> float:
    return _LEFT + math.log1p(seconds / 60) / math.log1p(span / 60) * (_WIDTH - _LEFT - 90)


def _points(
    entries: list[dict[str, Any]], defects: Set[str]
) -> tuple[list[tuple[str, float, str, int, bool]], float]:
    """(lane, offset seconds, label, count, whether one of them is a defect) with equal points
    merged; and the span."""
    start = datetime.fromisoformat(entries[0]["virtual_time"])
    merged: dict[tuple[str, float, str], tuple[int, bool]] = {}
    for entry in entries:
        offset = (datetime.fromisoformat(entry["virtual_time"]) - start).total_seconds()
        key = (_lane(entry), offset, _label(entry))
        count, defect = merged.get(key, (0, False))
        merged[key] = (count + 1, defect or entry["id"] in defects)
    points = [(*key, n, defect) for key, (n, defect) in merged.items()]
    return points, max([900.0, *(p[1] for p in points)])


def _hours(seconds: float) -> str:
    return f"+{seconds / 60:.0f} min" if seconds < 3600 else f"+{seconds / 3600:.2f} h"


def timeline_svg(entries: list[dict[str, Any]], defects: Set[str] = frozenset()) -> str:
    """One transaction as an SVG; the entries whose id is in `defects` marked."""
    points, span = _points(entries, defects)
    height = _LANE_H * len(_LANES) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{_WIDTH}" '
        f'height="{height}" role="img" aria-label="transaction timeline">'
    ]
    for i, lane in enumerate(_LANES):
        y = 22 + i * _LANE_H
        parts.append(
            f'<text x="6" y="{y + 4}" font-size="11">{lane}</text>'
            f'<line x1="{_LEFT}" y1="{y}" x2="{_WIDTH - 10}" y2="{y}" '
            'stroke="#e4e4e4"/>'
        )
    for seconds, name in _TICKS:
        if seconds <= span * 1.05:
            x = _x(seconds, span)
            parts.append(
                f'<line x1="{x:.1f}" y1="8" x2="{x:.1f}" y2="{height - 20}" stroke="#c9c9ff" '
                f'stroke-dasharray="3,3"/><text x="{x + 2:.1f}" y="{height - 6}" '
                f'font-size="10" fill="#55f">{name}</text>'
            )
    taken: dict[tuple[str, int], float] = {}
    for lane, offset, label, count, defect in sorted(points, key=lambda p: (p[1], p[0])):
        x = _x(offset, span)
        y = 22 + _LANES.index(lane) * _LANE_H
        text = label + (f" x{count}" if count > 1 else "")
        tip = escape(f"{text} {_hours(offset)} ({lane})" + (": broke the rule" if defect else ""))
        look = f'class="event" fill="{_EVENT}" r="5"'
        if defect:
            look = f'class="event defect" fill="{_DEFECT}" r="6"'
        parts.append(f'<circle cx="{x:.1f}" cy="{y}" {look}><title>{tip}</title></circle>')
        for row, dy in ((0, -7), (1, 14)):
            if taken.get((lane, row), -1e9) < x + 5:
                taken[(lane, row)] = x + 7 + len(text) * _CHAR_W + 4
                parts.append(
                    f'<text x="{x + 7:.1f}" y="{y + dy}" font-size="10">{escape(text)}</text>'
                )
                break
    parts.append("</svg>")
    return "".join(parts)
