"""The durable ledger of the mock federal endpoints (SQLite, WAL, group commit).

"Nothing lost": every message in or out, every pending timer and every delivery owed to the system
under test is written here before it is acknowledged, so a mock killed mid-run and restarted can
deliver every response still owed.

Writes go through one writer thread that owns the only writing connection. `Ledger.write` queues its
operations and returns once they are **committed**; the thread drains everything queued (up to
`BATCH_OPS` operations), runs it in one transaction and commits once (group commit), so thousands of
writes per second cost a few hundred commits, not one fsync each. Each `write(*ops)` call is atomic:
if a batch fails, its calls are retried one by one, each in its own transaction, and only the bad
call raises. Cancelling a waiting `write` does not withdraw it.

Reads run in `asyncio.to_thread` on a second, query-only connection; WAL lets them run beside
writes.

Durability: a file ledger uses WAL with `synchronous=NORMAL`: a write that returned survives the
process being killed (even SIGKILL), but a power loss or OS crash may lose the last committed
groups.
`Ledger(path, synchronous="FULL")` fsyncs the WAL at every commit and survives power loss too.
`Ledger()` (or `":memory:"`) is a private in-memory database for tests, lost on `close()`.

Messages are stored as JSON text; the ledger never parses or validates them. Rows come back as
`NamedTuple`s; `as_dict(row)` (or `row._asdict()`) gives a plain `dict` for JSON answers.

    async with Ledger("ledger.db") as ledger:
        await ledger.write(message_op(id=..., direction="in", ...), timer_op(id=..., ...))
        rows = await ledger.messages(tcn="NC20250101000001")
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import queue
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future as ThreadFuture
from operator import attrgetter
from types import TracebackType
from typing import Any, Literal, NamedTuple

__all__ = [
    "BATCH_OPS",
    "DeliveryRow",
    "Ledger",
    "MessageRow",
    "Op",
    "TimerRow",
    "as_dict",
    "delivery_op",
    "delivery_result_op",
    "message_op",
    "state_op",
    "timer_done_op",
    "timer_op",
]

BATCH_OPS = 5000
"""The most operations committed in one transaction (one `write` call may exceed it)."""

_SCHEMA_VERSION = 1

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    channel TEXT NOT NULL,
    tot TEXT,
    tcn TEXT,
    tcr TEXT,
    ori TEXT,
    virtual_time TEXT NOT NULL,
    wall_time TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_tcn ON messages (tcn);
CREATE INDEX IF NOT EXISTS messages_tcr ON messages (tcr);
CREATE INDEX IF NOT EXISTS messages_ori ON messages (ori);
CREATE INDEX IF NOT EXISTS messages_channel ON messages (channel);
CREATE TABLE IF NOT EXISTS timers (
    id TEXT PRIMARY KEY,
    due REAL NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX IF NOT EXISTS timers_state_due ON timers (state, due);
CREATE TABLE IF NOT EXISTS deliveries (
    message_id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_state ON deliveries (state);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

_TABLES = ("messages", "timers", "deliveries", "state")


class Op(NamedTuple):
    """One SQL statement for the writer thread; build it with the `*_op` functions."""

    sql: str
    params: tuple[object, ...]


class MessageRow(NamedTuple):
    """A ledgered message; `body` is its JSON text, `seq` its order of arrival."""

    seq: int
    id: str
    direction: str
    channel: str
    tot: str | None
    tcn: str | None
    tcr: str | None
    ori: str | None
    virtual_time: str
    wall_time: str
    body: str


class TimerRow(NamedTuple):
    """A pending timer: `due` on the virtual clock, `payload` JSON text."""

    id: str
    due: float
    kind: str
    payload: str


class DeliveryRow(NamedTuple):
    """A delivery of a message to `target` (the SUT callback or an inbox)."""

    message_id: str
    target: str
    state: str
    attempts: int
    last_error: str | None


_MESSAGE_COLUMNS = ", ".join(MessageRow._fields)


def as_dict(row: MessageRow | TimerRow | DeliveryRow) -> dict[str, object]:
    """A row as a plain `dict` (for JSON answers such as `GET /admin/ledger`)."""
    return dict(row._asdict())


_MESSAGE_SQL = (
    "INSERT INTO messages"
    " (id, direction, channel, tot, tcn, tcr, ori, virtual_time, wall_time, body)"
    f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, {_NOW}, ?) ON CONFLICT (id) DO NOTHING"
)
_TIMER_SQL = (
    "INSERT INTO timers (id, due, kind, payload) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)
_TIMER_DONE_SQL = "UPDATE timers SET state = 'fired' WHERE id = ?"
_DELIVERY_SQL = (
    "INSERT INTO deliveries (message_id, target, state, attempts, last_error, updated)"
    f" VALUES (?, ?, 'pending', 0, NULL, {_NOW}) ON CONFLICT (message_id) DO NOTHING"
)
_DELIVERY_RESULT_SQL = (
    f"UPDATE deliveries SET state = ?, attempts = ?, last_error = ?, updated = {_NOW}"
    " WHERE message_id = ?"
)
_STATE_SQL = "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)"
_RESET_OPS = (
    *(Op(f"DELETE FROM {table}", ()) for table in _TABLES),
    Op("DELETE FROM sqlite_sequence WHERE name = 'messages'", ()),
)


def message_op(
    *,
    id: str,
    direction: str,
    channel: str,
    tot: str | None,
    tcn: str | None,
    tcr: str | None,
    ori: str | None,
    virtual_time: str,
    body: str,
) -> Op:
    """Ledger a message in (`direction="in"`) or out; a second message with the same id is ignored.

    Only the id's uniqueness is ignored: a bad `direction` or a missing field still raises.
    """
    return Op(_MESSAGE_SQL, (id, direction, channel, tot, tcn, tcr, ori, virtual_time, body))


def timer_op(*, id: str, due: float, kind: str, payload: str) -> Op:
    """Ledger a pending timer (virtual time `due`); a second timer with the same id is ignored."""
    return Op(_TIMER_SQL, (id, due, kind, payload))


def timer_done_op(id: str) -> Op:
    """Mark a timer fired: it leaves `pending_timers()`."""
    return Op(_TIMER_DONE_SQL, (id,))


def delivery_op(*, message_id: str, target: str) -> Op:
    """Owe a delivery of a message to `target` (state `pending`, 0 attempts); idempotent by id."""
    return Op(_DELIVERY_SQL, (message_id, target))


def delivery_result_op(*, message_id: str, state: str, attempts: int, error: str | None) -> Op:
    """Record a delivery attempt: `state` is `delivered`, `failed` or (to retry) `pending`.

    Updates nothing when no delivery of `message_id` is owed.
    """
    return Op(_DELIVERY_RESULT_SQL, (state, attempts, error, message_id))


def state_op(key: str, value: str) -> Op:
    """Set a key of the mocks' persistent state (clock, scenario, ...) to `value`."""
    return Op(_STATE_SQL, (key, value))


_Request = tuple[tuple[Op, ...], asyncio.Future[None], asyncio.AbstractEventLoop]
_Outcome = tuple[asyncio.Future[None], BaseException | None]


def _settle(outcomes: list[_Outcome]) -> None:
    """Resolve the callers' futures (runs in their event loop)."""
    for future, error in outcomes:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def _apply(conn: sqlite3.Connection, ops: Sequence[Op]) -> None:
    """Run `ops` in order, each run of one statement as one `executemany`."""
    for sql, run in itertools.groupby(ops, key=attrgetter("sql")):
        params = [op.params for op in run]
        if len(params) == 1:
            conn.execute(sql, params[0])
        else:
            conn.executemany(sql, params)


class Ledger:
    """The mocks' durable ledger: one writer thread (group commit), one read connection."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        synchronous: Literal["NORMAL", "FULL", "EXTRA"] = "NORMAL",
    ) -> None:
        if synchronous not in ("NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.synchronous = synchronous
        self.memory = path is None or os.fspath(path) == ":memory:"
        self.path = (
            f"file:ledger-{uuid.uuid4().hex}?mode=memory&cache=shared"
            if self.memory or path is None
            else os.fspath(path)
        )
        self.commits = 0
        """Transactions committed by the writer thread so far (a measure of group commit)."""
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._accepting = False
        self._reader: sqlite3.Connection | None = None
        # Reads hold this lock; in memory (shared-cache) mode the writer holds it too, since a
        # shared cache locks tables instead of offering WAL snapshots.
        self._read_lock = threading.Lock()

    def __repr__(self) -> str:
        where = ":memory:" if self.memory else self.path
        return f"Ledger({where!r}, open={self._accepting})"

    # --- life cycle -------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, uri=self.memory, check_same_thread=False, isolation_level=None
        )
        conn.execute("PRAGMA busy_timeout = 10000")
        return conn

    async def open(self) -> None:
        """Create the tables if missing, set WAL mode, start the writer thread; no-op if open."""
        if self._thread is not None:
            if self._accepting:
                return
            raise RuntimeError("the ledger is closing")
        self._queue = queue.SimpleQueue()
        ready: ThreadFuture[None] = ThreadFuture()
        thread = threading.Thread(
            target=self._run, args=(ready,), name="ledger-writer", daemon=True
        )
        thread.start()
        try:
            await asyncio.wrap_future(ready)
            reader = await asyncio.to_thread(self._connect)
        except BaseException:
            self._queue.put(None)
            await asyncio.to_thread(thread.join)
            raise
        reader.execute("PRAGMA query_only = 1")
        self._reader = reader
        self._thread = thread
        self._accepting = True

    async def close(self) -> None:
        """Commit everything queued, stop the writer thread, close the connections; idempotent."""
        thread = self._thread
        if thread is None:
            return
        if self._accepting:
            self._accepting = False
            self._queue.put(None)
        await asyncio.to_thread(thread.join)
        if self._thread is thread:
            self._thread = None
            with self._read_lock:
                if self._reader is not None:
                    self._reader.close()
                    self._reader = None

    async def __aenter__(self) -> Ledger:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- writes -----------------------------------------------------------------------------------

    async def write(self, *ops: Op) -> None:
        """Run `ops` in one transaction; return once committed (raises what SQLite raised)."""
        if not self._accepting:
            raise RuntimeError(f"{self!r} is not open")
        if not ops:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put((ops, future, loop))
        await future

    async def reset(self) -> None:
        """Delete every row of every table (the admin reset); message `seq` restarts at 1."""
        await self.write(*_RESET_OPS)

    def _run(self, ready: ThreadFuture[None]) -> None:
        """The writer thread: set the database up, then commit queued requests in groups."""
        try:
            conn = self._connect()
            try:
                self._setup(conn)
            except BaseException:
                conn.close()
                raise
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        try:
            self._serve(conn)
        finally:
            conn.close()
            self._fail_queued(RuntimeError("the ledger was closed before this write ran"))

    def _setup(self, conn: sqlite3.Connection) -> None:
        if not self.memory:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"{self.path}: cannot use WAL (journal mode {mode})")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            conn.execute("PRAGMA journal_size_limit = 67108864")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > _SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path}: ledger schema {version} is newer than {_SCHEMA_VERSION}"
            )
        with self._write_guard():
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def _write_guard(self) -> contextlib.AbstractContextManager[Any]:
        return self._read_lock if self.memory else contextlib.nullcontext()

    def _serve(self, conn: sqlite3.Connection) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            size = len(first[0])
            stop = False
            while size < BATCH_OPS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
                size += len(item[0])
            self._commit(conn, batch)
            if stop:
                return

    def _transaction(self, conn: sqlite3.Connection, ops: Iterator[Op]) -> None:
        with self._write_guard():
            conn.execute("BEGIN IMMEDIATE")
            try:
                _apply(conn, list(ops))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        self.commits += 1

    def _commit(self, conn: sqlite3.Connection, batch: list[_Request]) -> None:
        outcomes: list[tuple[_Request, BaseException | None]]
        try:
            self._transaction(conn, itertools.chain.from_iterable(ops for ops, _, _ in batch))
            outcomes = [(request, None) for request in batch]
        except Exception as batch_error:
            if len(batch) == 1:
                outcomes = [(batch[0], batch_error)]
            else:
                outcomes = []
                for request in batch:
                    try:
                        self._transaction(conn, iter(request[0]))
                        outcomes.append((request, None))
                    except Exception as error:
                        outcomes.append((request, error))
        self._resolve(outcomes)

    @staticmethod
    def _resolve(outcomes: list[tuple[_Request, BaseException | None]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for (_, future, loop), error in outcomes:
            by_loop.setdefault(loop, []).append((future, error))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the caller's loop is already closed
                loop.call_soon_threadsafe(_settle, settled)

    def _fail_queued(self, error: BaseException) -> None:
        self._accepting = False
        outcomes: list[tuple[_Request, BaseException | None]] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                outcomes.append((item, error))
        self._resolve(outcomes)

    # --- reads ------------------------------------------------------------------------------------

    def _fetch(self, sql: str, params: tuple[object, ...]) -> list[Any]:
        with self._read_lock:
            if self._reader is None:
                raise RuntimeError(f"{self!r} is not open")
            return self._reader.execute(sql, params).fetchall()

    async def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
        if self._reader is None:
            raise RuntimeError(f"{self!r} is not open")
        return await asyncio.to_thread(self._fetch, sql, params)

    async def messages(
        self,
        *,
        tcn: str | None = None,
        ori: str | None = None,
        channel: str | None = None,
        tot: str | None = None,
        limit: int = 1000,
    ) -> list[MessageRow]:
        """Messages in arrival order; `tcn` matches a submission and all responses to it (`tcr`)."""
        if limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        where: list[str] = []
        params: list[object] = []
        if tcn is not None:
            where.append("(tcn = ? OR tcr = ?)")
            params += [tcn, tcn]
        for column, value in (("ori", ori), ("channel", channel), ("tot", tot)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT {_MESSAGE_COLUMNS} FROM messages"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq LIMIT ?"
        params.append(limit)
        return [MessageRow._make(row) for row in await self._query(sql, tuple(params))]

    async def message(self, id: str) -> MessageRow | None:
        """The message with this id, or None."""
        rows = await self._query(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (id,))
        return MessageRow._make(rows[0]) if rows else None

    async def pending_timers(self) -> list[TimerRow]:
        """Timers not yet fired, soonest first (to rebuild the clock's heap after a restart)."""
        rows = await self._query(
            "SELECT id, due, kind, payload FROM timers WHERE state = 'pending' ORDER BY due, id"
        )
        return [TimerRow._make(row) for row in rows]

    async def timers(self, ids: Sequence[str]) -> list[TimerRow]:
        """The timers with these ids, in any state, soonest first (to fire a batch)."""
        rows: list[Any] = []
        for start in range(0, len(ids), 500):
            chunk = tuple(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows += await self._query(
                f"SELECT id, due, kind, payload FROM timers WHERE id IN ({marks})", chunk
            )
        return sorted((TimerRow._make(row) for row in rows), key=lambda t: (t.due, t.id))

    async def pending_deliveries(self) -> list[DeliveryRow]:
        """Deliveries still owed, in the order their messages were ledgered."""
        rows = await self._query(
            "SELECT d.message_id, d.target, d.state, d.attempts, d.last_error"
            " FROM deliveries AS d LEFT JOIN messages AS m ON m.id = d.message_id"
            " WHERE d.state = 'pending' ORDER BY m.seq NULLS LAST, d.rowid"
        )
        return [DeliveryRow._make(row) for row in rows]

    async def delivery(self, message_id: str) -> DeliveryRow | None:
        """The delivery of this message in whatever state, or None."""
        rows = await self._query(
            "SELECT message_id, target, state, attempts, last_error FROM deliveries"
            " WHERE message_id = ?",
            (message_id,),
        )
        return DeliveryRow._make(rows[0]) if rows else None

    async def state(self, key: str) -> str | None:
        """The value stored under `key`, or None."""
        rows = await self._query("SELECT value FROM state WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    async def counts(self) -> dict[str, int]:
        """Rows per table (for `/health` and the benchmark)."""
        sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in _TABLES)
        return {str(table): int(n) for table, n in await self._query(sql)}
