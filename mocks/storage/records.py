"""What the mocks' ledger holds: its tables, the rows read back and the operations that write them.

Four tables: `messages` (every message in or out, its JSON text as received or sent), `timers`
(every pending step on the virtual clock; a fired one leaves), `deliveries` (every message owed
to the system under test, with its attempts and the wall time of its next attempt) and `state`
(clock, scenario, FBI numbers on file). The SQL lives here; `mocks.storage.ledger.Ledger` runs it.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "TABLES",
    "WRITES",
    "DeliveryRow",
    "MessageRow",
    "Op",
    "OwedRow",
    "TimerRow",
    "as_dict",
    "delivery_op",
    "delivery_result_op",
    "intake_op",
    "message_op",
    "migrations",
    "retarget_op",
    "state_op",
    "timer_done_op",
    "timer_op",
]

SCHEMA_VERSION = 2
"""Version 2: deliveries are retried until taken (next attempt's due time, order key, copies)."""

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
_EPOCH = "(julianday('now') - 2440587.5) * 86400.0"

SCHEMA = """
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
CREATE INDEX IF NOT EXISTS messages_ori ON messages (ori);
CREATE INDEX IF NOT EXISTS messages_channel ON messages (channel);
CREATE TABLE IF NOT EXISTS timers (
    id TEXT PRIMARY KEY,
    due REAL NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
);
CREATE TABLE IF NOT EXISTS deliveries (
    message_id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    updated TEXT NOT NULL,
    next_due REAL NOT NULL DEFAULT 0,
    order_key TEXT NOT NULL DEFAULT '',
    copies INTEGER NOT NULL DEFAULT 1,
    since REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE VIEW IF NOT EXISTS intake AS
    SELECT m.id, m.direction, m.channel, m.tot, m.tcn, m.tcr, m.ori, m.virtual_time, m.body,
        t.id AS timer_id, t.due, t.kind, t.payload
    FROM messages AS m JOIN timers AS t ON 0;
CREATE TRIGGER IF NOT EXISTS intake_insert INSTEAD OF INSERT ON intake BEGIN
    INSERT INTO messages
        (id, direction, channel, tot, tcn, tcr, ori, virtual_time, wall_time, body)
        VALUES (NEW.id, NEW.direction, NEW.channel, NEW.tot, NEW.tcn, NEW.tcr, NEW.ori,
            NEW.virtual_time, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NEW.body);
    INSERT INTO timers (id, due, kind, payload)
        VALUES (NEW.timer_id, NEW.due, NEW.kind, NEW.payload) ON CONFLICT (id) DO NOTHING;
END;
"""
"""`intake` is written to, never read (it has no rows): a row inserted into it is a submission's
message and its first timer, so that a group of submissions is one statement (`intake_op`)."""

# `messages_tcr` indexes only the messages that answer a submission: a submission itself (the
# intake's row) has no `tcr`, and a full index spent a seventh of the writer's time keeping NULLs.
_INDEXES = """
DROP INDEX IF EXISTS messages_tcr;
CREATE INDEX IF NOT EXISTS messages_tcr_set ON messages (tcr) WHERE tcr IS NOT NULL;
DROP INDEX IF EXISTS deliveries_state;
DROP INDEX IF EXISTS timers_state_due;
CREATE INDEX IF NOT EXISTS timers_due ON timers (state, due, id);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_due) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_order ON deliveries (order_key) WHERE state = 'pending';
"""

_FROM_1 = f"""
ALTER TABLE deliveries ADD COLUMN next_due REAL NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN order_key TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN copies INTEGER NOT NULL DEFAULT 1;
ALTER TABLE deliveries ADD COLUMN since REAL NOT NULL DEFAULT 0;
UPDATE deliveries SET state = 'pending', since = {_EPOCH} WHERE state = 'failed';
UPDATE deliveries SET order_key = coalesce(
    (SELECT coalesce(m.tcr, m.id) FROM messages AS m WHERE m.id = deliveries.message_id),
    message_id);
"""


def migrations(version: int) -> str:
    """The SQL that brings a ledger of `version` (0: new) to `SCHEMA_VERSION`.

    A version 1 ledger gave deliveries up after a few attempts (state `failed`); they are owed
    again, since nothing is ever lost.
    """
    if version == 1:
        return SCHEMA + _FROM_1 + _INDEXES
    return SCHEMA + _INDEXES


TABLES = ("messages", "timers", "deliveries", "state")

WRITES = {"intake": ("messages", "timers")}
"""The tables an INSERT into a view writes (for `mocks.storage.bulk`, which groups INSERTs by
table)."""


class Op(NamedTuple):
    """One SQL statement for the ledger's writer; build it with the `*_op` functions."""

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
    """A delivery of a message to `target` (the SUT callback); `next_due` is the POSIX wall time
    of its next attempt while it is `pending`."""

    message_id: str
    target: str
    state: str
    attempts: int
    last_error: str | None
    next_due: float = 0.0


class OwedRow(NamedTuple):
    """A delivery due for an attempt, with what it carries (for the courier)."""

    message_id: str
    target: str
    attempts: int
    order_key: str
    copies: int
    body: str
    virtual_time: str
    tot: str | None


def as_dict(row: MessageRow | TimerRow | DeliveryRow) -> dict[str, object]:
    """A row as a plain `dict` (for JSON answers such as `GET /admin/ledger`)."""
    return dict(row._asdict())


_MESSAGE_INSERT = (
    "INSERT INTO messages"
    " (id, direction, channel, tot, tcn, tcr, ori, virtual_time, wall_time, body)"
    f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, {_NOW}, ?)"
)
_MESSAGE_SQL = f"{_MESSAGE_INSERT} ON CONFLICT (id) DO NOTHING"
_INTAKE_SQL = (
    "INSERT INTO intake (id, direction, channel, tot, tcn, tcr, ori, virtual_time, body,"
    " timer_id, due, kind, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_TIMER_SQL = (
    "INSERT INTO timers (id, due, kind, payload) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)
_TIMER_DONE_SQL = "DELETE FROM timers WHERE id = ?"
_DELIVERY_SQL = (
    "INSERT INTO deliveries (message_id, target, state, attempts, last_error, updated,"
    " next_due, order_key, copies, since)"
    f" VALUES (?, ?, 'pending', 0, NULL, {_NOW}, ?, ?, ?, {_EPOCH})"
    " ON CONFLICT (message_id) DO NOTHING"
)
_DELIVERY_RESULT_SQL = (
    f"UPDATE deliveries SET state = ?, attempts = ?, last_error = ?, next_due = ?, updated = {_NOW}"
    " WHERE message_id = ?"
)
_RETARGET_SQL = "UPDATE deliveries SET target = ? WHERE state = 'pending' AND target = ''"
_STATE_SQL = "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)"


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


def intake_op(message: Op, timer: Op) -> Op:
    """A submission's `message` (a `message_op`) and its first `timer` (a `timer_op`) as one
    statement (a row of the `intake` view), the message made strict: a message id taken already
    raises `IntegrityError`, so of two writes of one submission exactly one commits (the ledger's
    unique constraint decides) and the timer is written with it or not at all.

    A group commit of submissions alone is then one statement, which SQLite commits by itself."""
    if message.sql != _MESSAGE_SQL or timer.sql != _TIMER_SQL:
        raise ValueError("intake_op: takes a message_op and a timer_op")
    return Op(_INTAKE_SQL, message.params + timer.params)


def timer_op(*, id: str, due: float, kind: str, payload: str) -> Op:
    """Ledger a pending timer (virtual time `due`); a second timer with the same id is ignored."""
    return Op(_TIMER_SQL, (id, due, kind, payload))


def timer_done_op(id: str) -> Op:
    """A timer fired: it leaves the ledger, in the commit that writes what it sent (those messages
    are its record). Kept, a year of fired timers was a quarter of a flowing ledger, and dropping
    only their payloads left holes that later rows never fill. Its id is never planned again: a
    plan timer is written only with the submission it plans (one per TCN) and fires once."""
    return Op(_TIMER_DONE_SQL, (id,))


def delivery_op(
    *, message_id: str, target: str, order_key: str | None = None, copies: int = 1, due: float = 0.0
) -> Op:
    """Owe a delivery of a message to `target` (`""`: the callback given later), first attempt at
    POSIX wall time `due`; the deliveries of one `order_key` (a submission's TCN) go in the order
    they were owed. Idempotent by message id."""
    return Op(_DELIVERY_SQL, (message_id, target, due, order_key or message_id, copies))


def delivery_result_op(
    *, message_id: str, state: str, attempts: int, error: str | None, next_due: float = 0.0
) -> Op:
    """Record a delivery attempt: `state` is `delivered`, or `pending` to try again at POSIX wall
    time `next_due`. Updates nothing when no delivery of `message_id` is owed."""
    return Op(_DELIVERY_RESULT_SQL, (state, attempts, error, next_due, message_id))


def retarget_op(target: str) -> Op:
    """Send the owed deliveries that had no callback to `target`."""
    return Op(_RETARGET_SQL, (target,))


def state_op(key: str, value: str) -> Op:
    """Set a key of the mocks' persistent state (clock, scenario, ...) to `value`."""
    return Op(_STATE_SQL, (key, value))
