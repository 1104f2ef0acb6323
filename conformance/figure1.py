"""The briefing's Figure 1 (program metrics) read from a mocks' ledger, printed beside the
briefing's own figures: transmissions, IDENT matches, Level 1, Level 2/3, US citizens, per month;
and beside the fingerprint path a column of ours the briefing does not have: the LEAs' name-based
IAQs through NLETS and LESC's answers (with candidates, or no record) (SOP 2.2.7).
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import Any, TextIO

__all__ = ["BRIEFING", "NLETS_COLUMNS", "metrics", "print_figure_1"]

BRIEFING = {
    "transmissions": 266_278,
    "matches": 32_620,
    "level_1": 2_631,
    "level_2_3": 28_714,
    "us_citizens": 1_275,
}
"""The briefing's Figure 1 (cumulative, October 27, 2008 to April 30, 2009)."""

_METRICS_SQL = """
SELECT substr(m.virtual_time, 1, 7) AS month,
       count(*),
       coalesce(sum(json_extract(s.value, '$.ident_search') = 1), 0),
       coalesce(sum(json_extract(s.value, '$.match') = 1), 0),
       coalesce(sum(json_extract(s.value, '$.offense_level') = 1
                    AND json_extract(s.value, '$.alienage') != 'us-citizen'), 0),
       coalesce(sum(json_extract(s.value, '$.offense_level') IN (2, 3)
                    AND json_extract(s.value, '$.alienage') != 'us-citizen'), 0),
       coalesce(sum(json_extract(s.value, '$.alienage') = 'us-citizen'), 0)
FROM state AS s JOIN messages AS m ON m.id = 'in:' || substr(s.key, 7)
WHERE s.key LIKE 'facts:%'
GROUP BY month ORDER BY month
"""
_COLUMNS = ("transmissions", "searched", "matches", "level_1", "level_2_3", "us_citizens")

_NLETS_SQL = """
SELECT substr(virtual_time, 1, 7) AS month,
       coalesce(sum(channel = 'nlets'), 0),
       coalesce(sum(channel = 'nlets-iar'
                    AND json_extract(body, '$.txt.result') = 'candidates'), 0),
       coalesce(sum(channel = 'nlets-iar'
                    AND json_extract(body, '$.txt.result') = 'no-record'), 0)
FROM messages WHERE channel IN ('nlets', 'nlets-iar')
GROUP BY month ORDER BY month
"""
NLETS_COLUMNS = ("nlets_iaqs", "nlets_candidates", "nlets_no_record")
"""Ours, not the briefing's: name-based IAQs NLETS took, and LESC's IARs by result."""


def metrics(ledger: Path) -> dict[str, Any]:
    """Figure 1's program metrics from a mocks' ledger, per month and in total."""
    conn = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
    try:
        rows = conn.execute(_METRICS_SQL).fetchall()
        nlets = conn.execute(_NLETS_SQL).fetchall()
    finally:
        conn.close()
    columns = (*_COLUMNS, *NLETS_COLUMNS)
    zero = dict.fromkeys(columns, 0)
    months = {str(row[0]): {**zero, **dict(zip(_COLUMNS, map(int, row[1:]), strict=True))}
              for row in rows}  # fmt: skip
    for row in nlets:
        month = months.setdefault(str(row[0]), dict(zero))
        month.update(zip(NLETS_COLUMNS, map(int, row[1:]), strict=True))
    months = dict(sorted(months.items()))
    total = {column: sum(m[column] for m in months.values()) for column in columns}
    return {"months": months, "total": total}


def _ratio(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f} %" if whole else "    -"


def print_figure_1(
    found: dict[str, Any],
    args: argparse.Namespace,
    wall: float,
    lost: dict[str, int],
    out: TextIO,
) -> None:
    total, brief = found["total"], BRIEFING
    print(f"\nreplay: {args.submissions:,} bookings over {args.days:g} virtual days", file=out)
    pace = f"slices of {args.slice:g} s" if args.scale is None else f"scaled:{args.scale:g}"
    rate = f"{args.submissions / wall:,.0f} bookings/s"
    why = ", ".join(f"{k} {v}" for k, v in lost.items() if v)
    print(f"  wall {wall:.0f} s, {rate} ({pace}); lost {sum(lost.values())}", file=out, end="")
    print(f" ({why})" if why else "", file=out)
    print(f"  {'month':8} " + " ".join(f"{c:>13}" for c in _COLUMNS), file=out)
    for month, row in found["months"].items():
        print(f"  {month:8} " + " ".join(f"{row[c]:13,}" for c in _COLUMNS), file=out)
    print(f"  {'total':8} " + " ".join(f"{total[c]:13,}" for c in _COLUMNS), file=out)
    print("  ratios              this run    briefing Figure 1", file=out)
    pairs = (
        ("matches / transmissions", "matches", "transmissions"),
        ("Level 1 / matches", "level_1", "matches"),
        ("Level 2/3 / matches", "level_2_3", "matches"),
        ("USC / matches", "us_citizens", "matches"),
    )
    for label, part, whole in pairs:
        ours = _ratio(total[part], total[whole])
        print(f"  {label:24} {ours}    {_ratio(brief[part], brief[whole])}", file=out)
    no_match = total["searched"] - total["matches"]
    print(
        f"  NLETS by name (ours; Figure 1 has no such column): {total['nlets_iaqs']:,} IAQs "
        f"after {no_match:,} no-matches ({_ratio(total['nlets_iaqs'], no_match).strip()}); "
        f"LESC answered {total['nlets_candidates']:,} with candidates, "
        f"{total['nlets_no_record']:,} with no record",
        file=out,
    )
