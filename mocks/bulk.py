"""A group commit's operations run as few statements: each stretch of INSERTs grouped by statement
where order allows, each run of one INSERT as multi-row statements, any other run as one
`executemany`. For the writer thread this means fewer steps, each a hand-back of the GIL."""

from __future__ import annotations

import functools
import itertools
import sqlite3
from collections.abc import Sequence
from operator import attrgetter

from .records import Op

__all__ = ["run"]


def run(conn: sqlite3.Connection, ops: Sequence[Op]) -> None:
    """Run `ops` in order, each run of one statement as one multi-row INSERT (in chunks of a power
    of two rows, so that few statements are prepared) or one `executemany`."""
    for sql, run in itertools.groupby(_in_runs(ops), key=attrgetter("sql")):
        params = [op.params for op in run]
        values = _values(sql)
        if len(params) == 1:
            conn.execute(sql, params[0])
        elif values is None:
            conn.executemany(sql, params)
        else:
            while params:
                rows = min(_BULK_ROWS, 1 << (len(params).bit_length() - 1))
                chunk, params = params[:rows], params[rows:]
                conn.execute(_bulk(sql, rows), [value for row in chunk for value in row])


_BULK_ROWS = 64
"""The most rows one multi-row INSERT takes (64 rows of 10 values: under any SQLite's limit)."""


@functools.cache
def _values(sql: str) -> tuple[str, str, str] | None:
    """An `INSERT ... VALUES (...) [ON CONFLICT ...]` split around its row, else None."""
    if not sql.startswith("INSERT") or " VALUES (" not in sql:
        return None
    start = sql.index(" VALUES (") + len(" VALUES ")
    depth = 0
    for end in range(start, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        if depth == 0:
            return sql[:start], sql[start : end + 1], sql[end + 1 :]
    return None


@functools.cache
def _bulk(sql: str, rows: int) -> str:
    """`sql` (an INSERT of one row) inserting `rows` rows at once."""
    split = _values(sql)
    assert split is not None
    head, row, tail = split
    return head + ", ".join([row] * rows) + tail


@functools.cache
def _table(sql: str) -> str | None:
    """The table an `INSERT` writes to, else None."""
    words = sql.split(None, 5)
    if words[0] != "INSERT":
        return None
    return words[words.index("INTO") + 1] if "INTO" in words else None


def _in_runs(ops: Sequence[Op]) -> Sequence[Op]:
    """`ops` with each stretch of INSERTs grouped by statement, when that changes nothing: the
    stretch writes each table with one statement only (inserts into different tables commute)."""
    out: list[Op] = []
    stretch: list[Op] = []
    tables: dict[str, str] = {}
    for op in ops:
        table = _table(op.sql)
        if table is not None and tables.setdefault(table, op.sql) == op.sql:
            stretch.append(op)
            continue
        out.extend(_grouped(stretch))
        stretch, tables = [], {}
        if table is None:
            out.append(op)
        else:
            stretch.append(op)
            tables[table] = op.sql
    out.extend(_grouped(stretch))
    return out


def _grouped(stretch: list[Op]) -> list[Op]:
    return sorted(stretch, key=attrgetter("sql")) if len(stretch) > 2 else stretch
