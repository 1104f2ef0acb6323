"""The reference SIB's durable store (SQLite): transactions, subjects' FBI numbers, the deliveries
taken (for idempotency), and the outbox of messages owed to LEA inboxes.

Everything the SIB owes (a submission CJIS has not taken yet, a message an LEA inbox has not taken
yet) is in the store before the SIB acknowledges what caused it, so a SIB restarted on the same
store file resumes it. Statements go into an open transaction that `flush` commits, and the SIB
flushes before every answer it gives: what concurrent requests wrote between two answers is one
commit (group commit), and each answer still follows its own writes to disk.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from protocol.ebts import parse_gmt

__all__ = ["Owed", "Store", "Transaction", "dumps"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    tcn TEXT PRIMARY KEY, booking_id TEXT, ori TEXT NOT NULL, biometric_key TEXT,
    tot TEXT NOT NULL, submitted TEXT, body TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'open',
    seen TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS subjects (
    biometric_key TEXT PRIMARY KEY, fbi TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (message_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ori TEXT NOT NULL, message_id TEXT NOT NULL,
    body BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0
);
"""


_COLUMNS = "tcn, booking_id, ori, biometric_key, tot, submitted, body, state, seen"
"""A transaction's columns, in the order `Transaction` takes them."""
_BUT_BODY = _COLUMNS.replace(" body,", " NULL,")
"""The same without the submission (a few kilobytes a delivery never needs; read when asked)."""


def dumps(document: Any) -> str:
    """`document` as compact JSON text: by orjson (0.4 µs against `json`'s 5.2 on a booking),
    or by `json` what orjson cannot write (an integer past 64 bits)."""
    try:
        return orjson.dumps(document).decode()
    except TypeError:
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


class Transaction:
    """A submission the SIB sent to CJIS, and what it has heard about it.

    `row` holds the columns of `_COLUMNS`; without the body (None) it is read from `store` when
    asked for."""

    def __init__(self, row: tuple[Any, ...], store: Store | None = None) -> None:
        self.tcn: str = row[0]
        self.booking_id: str | None = row[1]
        self.ori: str = row[2]
        self.biometric_key: str | None = row[3]
        self.tot: str = row[4]
        self._submitted: str | None = row[5]
        self._body: str | None = row[6]
        self.state: str = row[7]
        self._seen: str = row[8]
        self._store = store

    @functools.cached_property
    def submitted(self) -> datetime | None:
        """When CJIS took the submission (its virtual time), if it said."""
        return parse_gmt(self._submitted) if self._submitted else None

    @functools.cached_property
    def seen(self) -> list[str]:
        """The kinds of the deliveries acted on, for a design that keeps them (`Store.saw`)."""
        seen: list[str] = json.loads(self._seen)
        return seen

    @property
    def body(self) -> dict[str, Any]:
        """The submission as sent (read and parsed when asked: routing a delivery never needs
        it)."""
        if self._body is None and self._store is not None:
            rows = self._store.sql("SELECT body FROM transactions WHERE tcn = ?", (self.tcn,))
            self._body = str(rows[0][0]) if rows else None
        if self._body is None:
            raise LookupError(f"{self.tcn}: the store holds no submission")
        parsed: dict[str, Any] = json.loads(self._body)
        return parsed


_TRANSACTION = f"SELECT {_BUT_BODY} FROM transactions WHERE tcn = ?"


class Owed(NamedTuple):
    """A message owed to an LEA inbox."""

    id: int
    ori: str
    message_id: str
    body: bytes
    attempts: int


class Store:
    """The SIB's SQLite store; every method is one short, locked statement, in the open
    transaction until `flush`."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        """The store's file (None: in memory)."""
        self._db = sqlite3.connect(
            str(path) if path else ":memory:", check_same_thread=False, isolation_level=None
        )
        if path:
            # WAL without an fsync per commit: what returned survives the SIB being killed
            # (the durability the protocol needs), at thousands of statements a second.
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)
        self._cursor = self._db.cursor()
        """Every statement's cursor (one made per statement cost a tenth of the SIB's SQLite
        time); results are read before the lock is let go."""
        self._lock = threading.Lock()
        self._count: int | None = None
        self._saved_count: int | None = None
        self.run = self.setting("run") or self.set_setting("run", uuid.uuid4().hex[:6].upper())
        self.flush()

    def sql(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._execute(sql, params).fetchall()

    def _one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """The first row a query gives (None: none)."""
        with self._lock:
            row: tuple[Any, ...] | None = self._execute(sql, params).fetchone()
            return row

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """Run a statement in the open transaction (opening one); hold the lock."""
        if not self._db.in_transaction:
            self._cursor.execute("BEGIN")
        return self._cursor.execute(sql, params)

    def flush(self) -> None:
        """Commit what was written since the last flush (nothing to do when nothing was), the
        TCN counter with it."""
        with self._lock:
            if self._count != self._saved_count:
                saving = (str(self._count),)
                self._execute("INSERT OR REPLACE INTO settings VALUES ('count', ?)", saving)
                self._saved_count = self._count
            if self._db.in_transaction:
                self._cursor.execute("COMMIT")

    def setting(self, key: str) -> str | None:
        row = self._one("SELECT value FROM settings WHERE key = ?", (key,))
        return str(row[0]) if row else None

    def set_setting(self, key: str, value: str) -> str:
        self.sql("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))
        return value

    def count(self) -> int:
        """The next number of the TCN counter (never the same twice, across restarts too: it is
        written with the next commit, which holds every transaction numbered with it)."""
        with self._lock:
            if self._count is None:  # read once; this store is its only writer
                row = self._execute("SELECT value FROM settings WHERE key = 'count'").fetchone()
                self._count = self._saved_count = int(row[0]) if row else 0
            self._count += 1
            return self._count

    def add(self, tcn: str, booking: dict[str, Any], tot: str, message: dict[str, Any]) -> str:
        """Keep a submission (state `unsent` until CJIS takes it); the submission as JSON."""
        body = dumps(message)
        self.sql(
            "INSERT INTO transactions (tcn, booking_id, ori, biometric_key, tot, body, state)"
            " VALUES (?, ?, ?, ?, ?, ?, 'unsent')",
            (
                tcn,
                booking["booking_id"],
                booking["ori"],
                booking["prints"]["biometric_key"],
                tot,
                body,
            ),
        )
        return body

    def transaction(self, tcn: str) -> Transaction | None:
        """The transaction with this TCN (its submission read when asked for)."""
        row = self._one(_TRANSACTION, (tcn,))
        return Transaction(row, self) if row else None

    def unsent(self) -> list[Transaction]:
        rows = self.sql(f"SELECT {_COLUMNS} FROM transactions WHERE state = 'unsent'")
        return [Transaction(r) for r in rows]

    def set_state(self, tcn: str, state: str, submitted: str | None = None) -> None:
        if submitted is None:
            self.sql("UPDATE transactions SET state = ? WHERE tcn = ?", (state, tcn))
        else:
            self.sql(
                "UPDATE transactions SET state = ?, submitted = ? WHERE tcn = ?",
                (state, submitted, tcn),
            )

    def saw(self, tx: Transaction, kind: str) -> None:
        tx.seen.append(kind)
        self.sql("UPDATE transactions SET seen = ? WHERE tcn = ?", (json.dumps(tx.seen), tx.tcn))

    def fbi_of(self, biometric_key: str) -> str | None:
        row = self._one("SELECT fbi FROM subjects WHERE biometric_key = ?", (biometric_key,))
        return str(row[0]) if row else None

    def set_fbi(self, biometric_key: str, fbi: str) -> None:
        self.sql("INSERT OR REPLACE INTO subjects VALUES (?, ?)", (biometric_key, fbi))

    def taken(self, message_id: str) -> bool:
        """Whether a delivery was recorded as taken (`first_time`)."""
        return self._one("SELECT 1 FROM deliveries WHERE message_id = ?", (message_id,)) is not None

    def first_time(self, message_id: str) -> bool:
        """Record a delivery; False when it was taken before."""
        with self._lock:
            cursor = self._execute("INSERT OR IGNORE INTO deliveries VALUES (?)", (message_id,))
            return cursor.rowcount == 1

    def forget(self, message_id: str) -> None:
        """Forget a delivery was taken (it was refused after all)."""
        self.sql("DELETE FROM deliveries WHERE message_id = ?", (message_id,))

    def owe(self, ori: str, message_id: str, body: bytes) -> Owed:
        with self._lock:
            cursor = self._execute(
                "INSERT INTO outbox (ori, message_id, body) VALUES (?, ?, ?)",
                (ori, message_id, body),
            )
            return Owed(int(cursor.lastrowid or 0), ori, message_id, body, 0)

    def owed(self) -> list[Owed]:
        rows = self.sql("SELECT id, ori, message_id, body, attempts FROM outbox WHERE done = 0")
        return [Owed(r[0], r[1], r[2], bytes(r[3]), r[4]) for r in rows]

    def attempted(self, owed: Owed, *, done: bool) -> Owed:
        attempts = owed.attempts + 1
        self.sql(
            "UPDATE outbox SET attempts = ?, done = ? WHERE id = ?", (attempts, int(done), owed.id)
        )
        return owed._replace(attempts=attempts)

    def close(self) -> None:
        self.flush()
        self._db.close()
