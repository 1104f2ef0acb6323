"""A group commit's operations run as few statements: each stretch of INSERTs grouped by statement
where order allows, each run of one INSERT as one multi-row statement (up to `_BULK_ROWS` rows),
any other run as one `executemany`. For the writer this means fewer steps, each a hand-back
of the GIL; a group that comes down to one statement (a group of submissions, `intake_op`) needs
no `BEGIN` and `COMMIT` of its own (`single`)."""

from __future__ import annotations

import functools
import itertools
import sqlite3
from collections.abc import Sequence
from operator import attrgetter
from typing import NamedTuple

from .records import WRITES, Op

__all__ = ["Step", "run", "single", "steps"]


class Step(NamedTuple):
    """One call into SQLite: `sql` once with `params`, or (`many`) once for each of `params`."""

    sql: str
    params: Sequence[object]
    many: bool = False


def steps(ops: Sequence[Op]) -> list[Step]:
    """`ops` as few calls, in an order with the same outcome: each run of one statement as one
    multi-row INSERT (in chunks of at most `_BULK_ROWS` rows) or one `executemany`."""
    out: list[Step] = []
    for sql, group in itertools.groupby(_in_runs(ops), key=attrgetter("sql")):
        params = [op.params for op in group]
        if len(params) == 1:
            out.append(Step(sql, params[0]))
        elif _values(sql) is None:
            out.append(Step(sql, params, many=True))
        else:
            while params:
                chunk, params = params[:_BULK_ROWS], params[_BULK_ROWS:]
                out.append(Step(_bulk(sql, len(chunk)), [v for row in chunk for v in row]))
    return out


def single(todo: list[Step]) -> bool:
    """Whether `todo` is one statement run once: a transaction by itself in autocommit mode."""
    return len(todo) == 1 and not todo[0].many


def run(conn: sqlite3.Connection, todo: list[Step]) -> None:
    """Run the steps in order."""
    for sql, params, many in todo:
        if many:
            conn.executemany(sql, params)  # type: ignore[arg-type]
        else:
            conn.execute(sql, params)


_BULK_ROWS = 64
"""The most rows one multi-row INSERT takes (64 rows of 13 values: under any SQLite's limit)."""


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
def _tables(sql: str) -> tuple[str, ...] | None:
    """The tables an `INSERT` writes to (a view's, `WRITES`), else None."""
    words = sql.split(None, 5)
    if words[0] != "INSERT" or "INTO" not in words:
        return None
    table = words[words.index("INTO") + 1]
    return WRITES.get(table, (table,))


def _in_runs(ops: Sequence[Op]) -> Sequence[Op]:
    """`ops` with each stretch of INSERTs grouped by statement, when that changes nothing: the
    stretch writes each table with one statement only (inserts into different tables commute)."""
    out: list[Op] = []
    stretch: list[Op] = []
    tables: dict[str, str] = {}
    for op in ops:
        written = _tables(op.sql)
        if written is not None and all(tables.get(t, op.sql) == op.sql for t in written):
            stretch.append(op)
            tables.update(dict.fromkeys(written, op.sql))
            continue
        out.extend(_grouped(stretch))
        stretch, tables = [], {}
        if written is None:
            out.append(op)
        else:
            stretch.append(op)
            tables.update(dict.fromkeys(written, op.sql))
    out.extend(_grouped(stretch))
    return out


def _grouped(stretch: list[Op]) -> list[Op]:
    return sorted(stretch, key=attrgetter("sql")) if len(stretch) > 2 else stretch
