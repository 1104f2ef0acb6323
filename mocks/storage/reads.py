"""The ledger's reads: messages by page, timers by due time, deliveries owed, state, counts.

`Reads` is the read half of `mocks.storage.ledger.Ledger`: every query runs on the ledger's
query-only connection in a worker thread, and a page stops at a row count and a byte budget so that
no read holds more than a bounded amount of memory however large the messages are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ..timing.scheduler import Timer
from .records import TABLES, DeliveryRow, MessageRow, OwedRow, TimerRow

__all__ = ["Owed", "Page", "Reads"]

_MESSAGE_COLUMNS = ", ".join(MessageRow._fields)
_DELIVERY_COLUMNS = "message_id, target, state, attempts, last_error, next_due"
_OWED_SQL = (
    "SELECT d.message_id, d.target, d.attempts, d.order_key, d.copies,"
    " m.body, m.virtual_time, m.tot"
    " FROM deliveries AS d JOIN messages AS m ON m.id = d.message_id"
    " WHERE d.state = 'pending' AND d.next_due <= ? AND (d.target != '' OR ?)"
    " AND NOT EXISTS (SELECT 1 FROM deliveries AS e WHERE e.state = 'pending'"
    " AND e.order_key = d.order_key AND e.rowid < d.rowid)"
    " ORDER BY d.next_due, d.rowid LIMIT ?"
)


class Page(NamedTuple):
    """One page of messages and the cursor of the next (`None`: this was the last page)."""

    rows: list[MessageRow]
    next: int | None


class Owed(NamedTuple):
    """What `/health` says of the deliveries owed: how many, how many are being retried, and the
    POSIX wall time the oldest became owed (None when nothing is owed)."""

    owed: int
    retrying: int
    oldest: float | None


class Reads:
    """Queries over the ledger; the class that mixes this in provides `_query` and `_fetch_page`."""

    async def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
        raise NotImplementedError

    async def _quick(self, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
        return await self._query(sql, params)

    async def _fetch_page(
        self, sql: str, params: tuple[object, ...], limit: int, max_bytes: int, size_column: int
    ) -> tuple[list[Any], bool]:
        raise NotImplementedError

    async def _query_in(self, sql: str, values: Sequence[str]) -> list[Any]:
        """The rows of `sql`, whose `{marks}` is the placeholder list of an `IN (...)`, over all
        `values` (keys: a quick read), asked 500 at a time (SQLite caps the parameters of one
        statement)."""
        rows: list[Any] = []
        for start in range(0, len(values), 500):
            chunk = tuple(values[start : start + 500])
            rows += await self._quick(sql.format(marks=",".join("?" * len(chunk))), chunk)
        return rows

    async def page(
        self,
        *,
        tcn: str | None = None,
        ori: str | None = None,
        channel: str | None = None,
        tot: str | None = None,
        after: int = 0,
        limit: int = 1000,
        max_bytes: int = 8 << 20,
    ) -> Page:
        """Messages after cursor `after` in arrival order, up to `limit` rows and about
        `max_bytes` of bodies (always at least one row); `tcn` matches a submission and all
        responses to it (`tcr`). `Page.next` is the cursor to pass as `after` for the rest."""
        if limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        where = ["seq > ?"]
        params: list[object] = [after]
        if tcn is not None:
            where.append("(tcn = ? OR tcr = ?)")
            params += [tcn, tcn]
        for column, value in (("ori", ori), ("channel", channel), ("tot", tot)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE {' AND '.join(where)} ORDER BY seq"
        size_column = MessageRow._fields.index("body")
        rows, more = await self._fetch_page(sql, tuple(params), limit, max_bytes, size_column)
        found = [MessageRow._make(row) for row in rows]
        return Page(found, found[-1].seq if more and found else None)

    async def messages(
        self,
        *,
        tcn: str | None = None,
        ori: str | None = None,
        channel: str | None = None,
        tot: str | None = None,
        limit: int = 1000,
    ) -> list[MessageRow]:
        """The first `limit` messages in arrival order (see `page` for the rest)."""
        page = await self.page(tcn=tcn, ori=ori, channel=channel, tot=tot, limit=limit)
        return page.rows

    async def message(self, id: str) -> MessageRow | None:
        """The message with this id, or None."""
        rows = await self._quick(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (id,))
        return MessageRow._make(rows[0]) if rows else None

    async def bodies(self, ids: Sequence[str]) -> dict[str, MessageRow]:
        """The messages with these ids, by id (those not ledgered are missing)."""
        sql = f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id IN ({{marks}})"
        return {row[1]: MessageRow._make(row) for row in await self._query_in(sql, ids)}

    async def pending_timers(self, *, before: float | None = None) -> list[TimerRow]:
        """Timers not yet fired (due before `before`, if given), soonest first."""
        sql = "SELECT id, due, kind, payload FROM timers WHERE state = 'pending'"
        params: tuple[object, ...] = ()
        if before is not None:
            sql += " AND due < ?"
            params = (before,)
        rows = await self._query(sql + " ORDER BY due, id", params)
        return [TimerRow._make(row) for row in rows]

    async def timer_page(self, after: tuple[float, str] | None, limit: int) -> list[Timer]:
        """Pending timers after `(due, id)` `after` (all when None), soonest first, at most
        `limit` (a scheduler pages them in by due time)."""
        sql = "SELECT due, id FROM timers WHERE state = 'pending'"
        params: tuple[object, ...] = ()
        if after is not None:
            sql += " AND (due, id) > (?, ?)"
            params = after
        rows = await self._query(sql + " ORDER BY due, id LIMIT ?", (*params, limit))
        return [Timer(float(due), str(id)) for due, id in rows]

    async def pending_timer_count(self) -> int:
        """How many timers are pending."""
        rows = await self._query("SELECT count(*) FROM timers WHERE state = 'pending'")
        return int(rows[0][0])

    async def timers(self, ids: Sequence[str]) -> list[TimerRow]:
        """The pending timers with these ids, soonest first (to fire a batch: a timer fired
        already has left the ledger, or, in a ledger written before that, is marked fired; either
        way it is not fired again)."""
        # `+state`: found by id (the primary key), not by scanning every pending timer through
        # the (state, due, id) index, which SQLite picked: 7 ms at 10,000 pending, for each of a
        # realtime clock's small batches.
        sql = "SELECT id, due, kind, payload FROM timers"
        sql += " WHERE +state = 'pending' AND id IN ({marks})"
        rows = await self._query_in(sql, ids)
        return sorted((TimerRow._make(row) for row in rows), key=lambda t: (t.due, t.id))

    async def pending_deliveries(self) -> list[DeliveryRow]:
        """Deliveries still owed, in the order they were owed."""
        rows = await self._query(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE state = 'pending' ORDER BY rowid"
        )
        return [DeliveryRow._make(row) for row in rows]

    async def due_deliveries(self, now: float, limit: int, *, any_target: bool) -> list[OwedRow]:
        """Owed deliveries whose next attempt is due by POSIX wall time `now`, soonest first, each
        only when no delivery owed before it for the same submission is still owed (order kept).
        Deliveries without a target come too when `any_target` (a callback is known now)."""
        rows = await self._quick(_OWED_SQL, (now, any_target, limit))
        return [OwedRow._make(row) for row in rows]

    async def next_delivery_due(self, after: float) -> float | None:
        """The earliest next-attempt time after `after` of an owed delivery, or None."""
        rows = await self._quick(
            "SELECT min(next_due) FROM deliveries WHERE state = 'pending' AND next_due > ?",
            (after,),
        )
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    async def tried(self, ids: Sequence[str]) -> list[tuple[str, bool]]:
        """Of these deliveries, those tried at least once, each with whether it was taken."""
        sql = (
            "SELECT message_id, state = 'delivered' FROM deliveries"
            " WHERE message_id IN ({marks}) AND attempts > 0"
        )
        return [(str(i), bool(taken)) for i, taken in await self._query_in(sql, ids)]

    async def owed(self) -> Owed:
        """How many deliveries are owed, how many of them failed at least once, the oldest."""
        rows = await self._query(
            "SELECT count(*), coalesce(sum(attempts > 0), 0), min(since) FROM deliveries"
            " WHERE state = 'pending'"
        )
        count, retrying, oldest = rows[0]
        return Owed(int(count), int(retrying), None if oldest is None else float(oldest))

    async def deliveries(self, ids: Sequence[str]) -> dict[str, DeliveryRow]:
        """The deliveries of these messages, by message id (messages owed to no one are missing)."""
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE message_id IN ({{marks}})"
        return {row[0]: DeliveryRow._make(row) for row in await self._query_in(sql, ids)}

    async def delivery(self, message_id: str) -> DeliveryRow | None:
        """The delivery of this message in whatever state, or None."""
        rows = await self._quick(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE message_id = ?", (message_id,)
        )
        return DeliveryRow._make(rows[0]) if rows else None

    async def state(self, key: str) -> str | None:
        """The value stored under `key`, or None."""
        rows = await self._quick("SELECT value FROM state WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    async def states(self, keys: Sequence[str]) -> dict[str, str]:
        """The values stored under these keys, by key (keys with none are missing)."""
        sql = "SELECT key, value FROM state WHERE key IN ({marks})"
        return {str(k): str(v) for k, v in await self._query_in(sql, keys)}

    async def counts(self) -> dict[str, int]:
        """Rows per table (for `/health` and the benchmark)."""
        sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in TABLES)
        return {str(table): int(n) for table, n in await self._query(sql)}
