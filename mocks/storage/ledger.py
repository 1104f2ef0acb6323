"""The durable ledger of the mock federal endpoints (SQLite, WAL, group commit).

"Nothing lost": every message in or out, every pending timer and every delivery owed to the system
under test is written here before it is acknowledged, so a mock killed mid-run and restarted can
deliver every response still owed.

Writes go through one writing connection, used on the event loop's own thread. `Ledger.write`
queues its operations and returns once they are **committed**: the first write of a loop turn
schedules a flush at the end of the next turn (so that the writes of the requests read in this
turn, whose tasks take their first step in the next, join it: at intake a tenth less CPU a request
than a flush at the end of this turn), which runs everything queued meanwhile (up to
`BATCH_OPS` operations a transaction) and commits once (group commit), so thousands of writes per
second cost a few hundred commits, not one fsync each. A commit in WAL mode is a write to the WAL
(no fsync with `synchronous=NORMAL`), a few tens of microseconds: handing it to a thread of its
own and back cost several times that, and a lone write (the manual clock's, one timer at a time)
paid it all. Each `write(*ops)` call is atomic: if a batch fails, its calls are retried one by one,
each in its own transaction, and only the bad call raises. Cancelling a waiting `write` does not
withdraw it.

Reads run in `asyncio.to_thread` on a second, query-only connection; WAL lets them run beside
writes. A file ledger's quick reads (by key or index, a bounded result: the courier's and the
timers' every few milliseconds) run on the event loop's thread on the writing connection, between
its flushes: no hand-off to a thread, and a page cache that stays valid (another connection
discards its whole cache once the database changed, and reads the pages again).
A file ledger's WAL is checkpointed by a thread of its own (`mocks.storage.checkpoint`), never
within the writer's commits, and stays bounded.

Durability: a file ledger uses WAL with `synchronous=NORMAL`: a write that returned survives the
process being killed (even SIGKILL), but a power loss or OS crash may lose the last committed
groups.
`Ledger(path, synchronous="FULL")` fsyncs the WAL at every commit and survives power loss too.
`Ledger()` (or `":memory:"`) is a private in-memory database for tests, lost on `close()`.

A full disk is an outage, not a storm: a commit failing because SQLite cannot write (`SQLITE_FULL`,
`SQLITE_IOERR`) makes the ledger **not writable**; every write then raises `NotWritable` at once,
without trying, and a timer on the loop probes (a small transaction that needs room, on the shared
`Backoff`) until one commits, when the ledger is writable again. Each change of state is logged
once, and `writable_again()` lets a caller wait for it.

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
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Literal

from ..timing.backoff import Backoff
from .bulk import run, single, steps
from .checkpoint import Checkpointer
from .reads import Reads
from .records import SCHEMA_VERSION, TABLES, Op, migrations

__all__ = ["BATCH_OPS", "PROBE_BYTES", "WRITER_CACHE_KIB", "Ledger", "NotWritable"]

_log = logging.getLogger("interop.ledger")

BATCH_OPS = 5000
"""The most operations committed in one transaction (one `write` call may exceed it)."""

WRITER_CACHE_KIB = 32 * 1024
"""The writing connection's page cache, in KiB (a file ledger's)."""

PROBE_BYTES = 64 * 1024
"""The room a probe of a ledger that was not writable needs before it is writable again."""
_PROBE_BACKOFF = Backoff(base=0.02, factor=2.0, cap=0.25)
_UNWRITABLE = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR})
_PROBE_OPS = (
    Op("INSERT OR REPLACE INTO state (key, value) VALUES ('ledger-probe', zeroblob(?))",
       (PROBE_BYTES,)),
    Op("DELETE FROM state WHERE key = 'ledger-probe'", ()),
)  # fmt: skip


class NotWritable(Exception):
    """The ledger cannot write now (its disk is full, or failing); nothing was written."""


def _cannot_write(error: BaseException) -> bool:
    """Whether `error` says SQLite could not write (disk full, I/O error), not that a write was
    wrong (a constraint, a bad statement)."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _UNWRITABLE
    return "disk is full" in str(error) or "disk I/O error" in str(error)


_RESET_OPS = (
    *(Op(f"DELETE FROM {table}", ()) for table in TABLES),
    Op("DELETE FROM sqlite_sequence WHERE name = 'messages'", ()),
)
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


class Ledger(Reads):
    """The mocks' durable ledger: one writing connection (group commit a loop turn), one read
    connection."""

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
        """Transactions committed by the writer so far (a measure of group commit)."""
        self._writer: sqlite3.Connection | None = None
        self._pending: list[_Request] = []
        """Writes queued for the next flush."""
        self._flushes: set[asyncio.AbstractEventLoop] = set()
        """The loops with a flush scheduled."""
        self._commit_lock = threading.Lock()
        self._probing: asyncio.TimerHandle | None = None
        self._accepting = False
        self._reader: sqlite3.Connection | None = None
        """The query-only connection the reads run on in a worker thread (the quick reads of a
        file ledger run on the writing connection instead)."""
        self.checkpointer: Checkpointer | None = None
        """The thread checkpointing a file ledger's WAL while it is open (None in memory)."""
        # Reads hold this lock; in memory (shared-cache) mode the writer holds it too, since a
        # shared cache locks tables instead of offering WAL snapshots.
        self._read_lock = threading.Lock()
        self.writable = True
        """False from a commit SQLite could not write until a probe commits again."""
        self.unwritable_since: float | None = None
        """Monotonic time the ledger stopped being writable (None while it is writable)."""
        self._why = ""
        self._waiters: list[tuple[asyncio.Future[None], asyncio.AbstractEventLoop]] = []
        self._waiters_lock = threading.Lock()
        self._max_pages: int | None = None
        self._cap_pending = False

    def __repr__(self) -> str:
        where = ":memory:" if self.memory else self.path
        return f"Ledger({where!r}, open={self._accepting})"

    # --- life cycle -------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            uri=self.memory,
            check_same_thread=False,
            isolation_level=None,
            cached_statements=256,  # a multi-row INSERT is prepared once for each row count
        )
        conn.execute("PRAGMA busy_timeout = 10000")
        return conn

    async def open(self) -> None:
        """Create the tables if missing, set WAL mode, open the connections; no-op if open."""
        if self._writer is not None:
            if self._accepting:
                return
            raise RuntimeError("the ledger is closing")
        writer = await asyncio.to_thread(self._connect)
        try:
            await asyncio.to_thread(self._setup, writer)
            reader = await asyncio.to_thread(self._connect)
        except BaseException:
            writer.close()
            raise
        reader.execute("PRAGMA query_only = 1")
        self._reader = reader
        self._writer = writer
        self._pending = []
        self._accepting = True
        if not self.memory:
            self.checkpointer = Checkpointer(self._connect, lambda: self.commits)
            self.checkpointer.start()

    async def close(self) -> None:
        """Commit everything queued, close the connections; idempotent."""
        writer = self._writer
        if writer is None:
            return
        self._accepting = False
        if self._probing is not None:
            self._probing.cancel()
            self._probing = None
        self._flush()
        if self._writer is not writer:
            return
        self._writer = None
        checkpointer, self.checkpointer = self.checkpointer, None
        if checkpointer is not None:
            await asyncio.to_thread(checkpointer.stop)
        with self._commit_lock:
            writer.close()
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
        if not self.writable:
            raise NotWritable(f"the ledger is not writable ({self._why})")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._commit_lock:
            self._pending.append((ops, future, loop))
            first = loop not in self._flushes
            self._flushes.add(loop)
        if first:
            # The end of the next turn: the requests read in this one write in that one.
            loop.call_soon(loop.call_soon, self._flush_from, loop)
        await future

    def _flush_from(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._commit_lock:
            self._flushes.discard(loop)
        self._flush()

    def _flush(self) -> None:
        """Commit what is queued, in transactions of up to `BATCH_OPS` operations (group
        commit); each caller's future is resolved in its own loop."""
        with self._commit_lock:
            batch, self._pending = self._pending, []
            writer = self._writer
            if writer is None:
                closed = RuntimeError("the ledger was closed before this write ran")
                self._resolve([(request, closed) for request in batch])
                return
            while batch:
                size, n = 0, 0
                while n < len(batch) and (n == 0 or size + len(batch[n][0]) <= BATCH_OPS):
                    size += len(batch[n][0])
                    n += 1
                self._commit(writer, batch[:n])
                batch = batch[n:]
                checkpointer = self.checkpointer
                if checkpointer is not None and checkpointer.wanted:
                    checkpointer.between(writer)

    async def writable_again(self, timeout: float | None = None) -> bool:
        """Wait until the ledger is writable (at most `timeout` seconds); whether it is."""
        if self.writable:
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._waiters_lock:
            if self.writable:
                return True
            self._waiters.append((future, loop))
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            with self._waiters_lock, contextlib.suppress(ValueError):
                self._waiters.remove((future, loop))
        return self.writable

    async def cap_pages(self, pages: int | None) -> int:
        """Let the database grow to at most `pages` pages (None: as far as the disk allows), as
        a full disk would stop it: how the tests and `bench/faults.py` fill the disk. Returns the
        database's pages now."""
        self._max_pages = pages
        self._cap_pending = True
        if self.writable:  # else the next probe applies it
            await self.write(Op("SELECT 1", ()))
        rows = await self._query("PRAGMA page_count")
        return int(rows[0][0])

    def _apply_cap(self, conn: sqlite3.Connection) -> None:
        self._cap_pending = False
        pages = self._max_pages
        conn.execute(f"PRAGMA max_page_count = {int(pages) if pages else 4294967294}")

    async def reset(self) -> None:
        """Delete every row of every table (the admin reset); message `seq` restarts at 1."""
        await self.write(*_RESET_OPS)

    def _setup(self, conn: sqlite3.Connection) -> None:
        if not self.memory:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"{self.path}: cannot use WAL (journal mode {mode})")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            conn.execute("PRAGMA journal_size_limit = 67108864")
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpoint thread's work
            # The writer's page cache (its quick reads too): the indexes' pages a commit touches
            # stay in memory instead of being read again (2 MB, SQLite's default, held too few).
            conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path}: ledger schema {version} is newer than {SCHEMA_VERSION}"
            )
        with self._write_guard():
            conn.executescript(
                f"BEGIN; {migrations(version)} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )

    def _write_guard(self) -> contextlib.AbstractContextManager[Any]:
        return self._read_lock if self.memory else contextlib.nullcontext()

    def _probe_later(self, probes: int) -> None:
        """While not writable: probe after the shared back-off's delay, on the running loop."""
        with contextlib.suppress(RuntimeError):  # no loop runs: the next write probes
            loop = asyncio.get_running_loop()
            delay = _PROBE_BACKOFF.delay(probes)
            self._probing = loop.call_later(delay, self._probe, probes)

    def _probe(self, probes: int) -> None:
        self._probing = None
        with self._commit_lock:
            conn = self._writer
            if conn is None or self.writable:
                return
            if self._cap_pending:
                self._apply_cap(conn)
            try:
                self._transaction(conn, iter(_PROBE_OPS))
            except sqlite3.Error:
                self._probe_later(probes + 1)
                return
            self._set_writable(True, "")

    def _set_writable(self, writable: bool, why: str) -> None:
        """Change state (logged once per change) and wake those waiting for writes again."""
        if writable == self.writable:
            return
        if not writable:
            self._why = why
            self.unwritable_since = time.monotonic()
            self.writable = False
            _log.error("ledger not writable (%s): writes are refused until a probe commits", why)
            self._probe_later(1)
            return
        since = self.unwritable_since or time.monotonic()
        self.unwritable_since = None
        self.writable = True
        _log.warning("ledger writable again after %.2f s", time.monotonic() - since)
        with self._waiters_lock:
            waiters, self._waiters = self._waiters, []
        for future, loop in waiters:
            settled: list[_Outcome] = [(future, None)]
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, settled)

    def _transaction(self, conn: sqlite3.Connection, ops: Iterator[Op]) -> None:
        todo = steps(list(ops))
        with self._write_guard():
            if single(todo):
                # One statement is a transaction by itself: one step of SQLite, one hand-back of
                # the GIL (a group of submissions comes to this).
                conn.execute(todo[0].sql, todo[0].params)
            else:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    run(conn, todo)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        self.commits += 1

    def _commit(self, conn: sqlite3.Connection, batch: list[_Request]) -> None:
        outcomes: list[tuple[_Request, BaseException | None]]
        if self._cap_pending:
            self._apply_cap(conn)
        if not self.writable:
            refused = NotWritable(f"the ledger is not writable ({self._why})")
            self._resolve([(request, refused) for request in batch])
            return
        try:
            self._transaction(conn, itertools.chain.from_iterable(ops for ops, _, _ in batch))
            outcomes = [(request, None) for request in batch]
        except Exception as batch_error:
            if _cannot_write(batch_error):
                self._set_writable(False, str(batch_error))
                refused = NotWritable(f"the ledger is not writable ({batch_error})")
                self._resolve([(request, refused) for request in batch])
                return
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
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        for loop, settled in by_loop.items():
            if loop is here:
                _settle(settled)
                continue
            with contextlib.suppress(RuntimeError):  # the caller's loop is already closed
                loop.call_soon_threadsafe(_settle, settled)

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

    async def _quick(self, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
        """A quick read (by key or index, a bounded result): on a file ledger run right here, on
        the writing connection between its flushes, sparing the hand-off to a worker thread and
        back, which cost more than the read; in memory, as `_query`."""
        writer = self._writer
        if self.memory or writer is None:
            return await self._query(sql, params)
        with self._commit_lock:
            return writer.execute(sql, params).fetchall()

    async def _fetch_page(
        self, sql: str, params: tuple[object, ...], limit: int, max_bytes: int, size_column: int
    ) -> tuple[list[Any], bool]:
        if self._reader is None:
            raise RuntimeError(f"{self!r} is not open")
        return await asyncio.to_thread(self._page, sql, params, limit, max_bytes, size_column)

    def _page(
        self, sql: str, params: tuple[object, ...], limit: int, max_bytes: int, size_column: int
    ) -> tuple[list[Any], bool]:
        """Rows up to `limit` and `max_bytes` (at least one), and whether more follow."""
        rows: list[Any] = []
        size = 0
        with self._read_lock:
            if self._reader is None:
                raise RuntimeError(f"{self!r} is not open")
            cursor = self._reader.execute(sql, params)
            try:
                while (row := cursor.fetchone()) is not None:
                    length = len(row[size_column])
                    if len(rows) >= limit or (rows and size + length > max_bytes):
                        return rows, True
                    rows.append(row)
                    size += length
            finally:
                cursor.close()
        return rows, False
