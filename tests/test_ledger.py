"""The durable ledger: round trips, idempotency, group commit, failure isolation, durability."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from mocks.storage.ledger import Ledger
from mocks.storage.records import (
    DeliveryRow,
    MessageRow,
    Op,
    TimerRow,
    as_dict,
    delivery_op,
    delivery_result_op,
    message_op,
    state_op,
    timer_done_op,
    timer_op,
)

REPO = Path(__file__).resolve().parents[1]
VT = "2025-01-06T14:00:00Z"


def run(test: Callable[[Ledger], Awaitable[None]], path: Path | None = None) -> None:
    """Run `test` against an open ledger (in memory unless `path` is given), closing it after."""

    async def main() -> None:
        async with Ledger(path) as ledger:
            await test(ledger)

    asyncio.run(main())


def msg(
    id: str,
    *,
    direction: str = "in",
    channel: str = "cjis",
    tot: str | None = "CAR",
    tcn: str | None = None,
    tcr: str | None = None,
    ori: str | None = "NC0920000",
) -> Op:
    return message_op(
        id=id,
        direction=direction,
        channel=channel,
        tot=tot,
        tcn=tcn,
        tcr=tcr,
        ori=ori,
        virtual_time=VT,
        body=f'{{"id": "{id}"}}',
    )


def test_message_round_trip() -> None:
    async def check(ledger: Ledger) -> None:
        await ledger.write(msg("m1", tcn="T1"))
        row = await ledger.message("m1")
        assert row is not None
        assert row[:10] == (
            1,
            "m1",
            "in",
            "cjis",
            "CAR",
            "T1",
            None,
            "NC0920000",
            VT,
            row.wall_time,
        )
        assert row.body == '{"id": "m1"}'
        assert row.wall_time.endswith("Z")
        assert row.wall_time[:4].isdigit()
        assert row.wall_time[10] == "T"
        assert await ledger.message("nope") is None
        assert as_dict(row)["tcn"] == "T1"
        assert list(as_dict(row)) == list(MessageRow._fields)

    run(check)


def test_same_message_or_timer_twice_is_one_row() -> None:
    async def check(ledger: Ledger) -> None:
        await ledger.write(msg("m1"), msg("m1"))
        await ledger.write(msg("m1", tot="CPI"))
        await ledger.write(timer_op(id="t1", due=5.0, kind="iar", payload="{}"))
        await ledger.write(timer_op(id="t1", due=9.0, kind="idr", payload="{}"))
        await ledger.write(delivery_op(message_id="m1", target="sut"))
        await ledger.write(delivery_op(message_id="m1", target="other"))
        counts = await ledger.counts()
        assert counts == {"messages": 1, "timers": 1, "deliveries": 1, "state": 0}
        first = await ledger.message("m1")
        assert first is not None
        assert first.tot == "CAR"
        assert await ledger.pending_timers() == [TimerRow("t1", 5.0, "iar", "{}")]
        assert await ledger.pending_deliveries() == [DeliveryRow("m1", "sut", "pending", 0, None)]

    run(check)


def test_tcn_query_returns_the_submission_and_its_responses() -> None:
    async def check(ledger: Ledger) -> None:
        await ledger.write(
            msg("car", tcn="T1"),
            msg("other", tcn="T2"),
            msg("sre", direction="out", tot="SRE", tcn="R1", tcr="T1"),
            msg("idr", direction="out", channel="sut", tot="IDR", tcn="R2", tcr="T1", ori=None),
            msg(
                "lea", direction="in", channel="lea", tot="IDR", tcn="R3", tcr="T2", ori="NC0920100"
            ),
        )
        assert [m.id for m in await ledger.messages(tcn="T1")] == ["car", "sre", "idr"]
        assert [m.id for m in await ledger.messages(tcn="T1", tot="IDR")] == ["idr"]
        assert [m.id for m in await ledger.messages(tcn="T1", channel="cjis")] == ["car", "sre"]
        assert [m.id for m in await ledger.messages(ori="NC0920100")] == ["lea"]
        assert [m.id for m in await ledger.messages(channel="lea", ori="NC0920100")] == ["lea"]
        assert [m.seq for m in await ledger.messages()] == [1, 2, 3, 4, 5]
        assert [m.id for m in await ledger.messages(limit=2)] == ["car", "other"]
        assert await ledger.messages(tcn="T9") == []
        with pytest.raises(ValueError, match="limit"):
            await ledger.messages(limit=-1)

    run(check)


def test_pending_timers_come_soonest_first_until_fired() -> None:
    async def check(ledger: Ledger) -> None:
        await ledger.write(
            *(timer_op(id=f"t{d}", due=float(d), kind="idr", payload=f"{d}") for d in (30, 10, 20))
        )
        assert [t.id for t in await ledger.pending_timers()] == ["t10", "t20", "t30"]
        await ledger.write(timer_done_op("t20"))
        assert await ledger.pending_timers() == [
            TimerRow("t10", 10.0, "idr", "10"),
            TimerRow("t30", 30.0, "idr", "30"),
        ]
        assert (await ledger.counts())["timers"] == 2  # a fired timer leaves the ledger
        assert [t.id for t in await ledger.timers(["t20", "t10"])] == ["t10"]  # never twice

    run(check)


def test_delivery_states() -> None:
    async def check(ledger: Ledger) -> None:
        await ledger.write(msg("a"), msg("b"), msg("c"))
        await ledger.write(
            delivery_op(message_id="c", target="sut"),
            delivery_op(message_id="a", target="sut"),
            delivery_op(message_id="b", target="lea"),
        )
        assert [d.message_id for d in await ledger.pending_deliveries()] == ["c", "a", "b"]
        await ledger.write(
            delivery_result_op(
                message_id="a", state="pending", attempts=1, error="503 from SUT", next_due=7.5
            )
        )
        await ledger.write(
            delivery_result_op(message_id="b", state="delivered", attempts=1, error=None)
        )
        assert await ledger.pending_deliveries() == [
            DeliveryRow("c", "sut", "pending", 0, None, 0.0),
            DeliveryRow("a", "sut", "pending", 1, "503 from SUT", 7.5),
        ]
        assert await ledger.delivery("b") == DeliveryRow("b", "lea", "delivered", 1, None, 0.0)
        assert await ledger.delivery("zz") is None
        owed = await ledger.owed()
        assert (owed.owed, owed.retrying) == (2, 1)
        assert owed.oldest is not None
        # the ledger's wall times are SQLite's clock ('now'), which the timeshift guard leaves alone
        with contextlib.closing(sqlite3.connect(":memory:")) as db:
            (now,) = db.execute("SELECT (julianday('now') - 2440587.5) * 86400.0").fetchone()
        assert abs(owed.oldest - now) < 60
        with pytest.raises(sqlite3.IntegrityError):
            await ledger.write(
                delivery_result_op(message_id="a", state="lost", attempts=2, error=None)
            )

    run(check)


def test_due_deliveries_keep_each_submissions_order_and_wait_for_their_time() -> None:
    async def check(ledger: Ledger) -> None:
        await ledger.write(msg("s1"), msg("i1"), msg("s2"))
        await ledger.write(
            delivery_op(message_id="s1", target="sut", order_key="T1"),
            delivery_op(message_id="i1", target="sut", order_key="T1"),
            delivery_op(message_id="s2", target="", order_key="T2"),
        )
        due = await ledger.due_deliveries(10.0, 10, any_target=False)
        assert [d.message_id for d in due] == ["s1"]
        assert due[0].body == '{"id": "s1"}'
        due = await ledger.due_deliveries(10.0, 10, any_target=True)
        assert [d.message_id for d in due] == ["s1", "s2"]
        await ledger.write(
            delivery_result_op(message_id="s1", state="pending", attempts=1, error="x", next_due=20)
        )
        assert [d.message_id for d in await ledger.due_deliveries(10.0, 10, any_target=True)] == [
            "s2"
        ]
        assert await ledger.next_delivery_due(10.0) == 20.0
        await ledger.write(
            delivery_result_op(message_id="s1", state="delivered", attempts=2, error=None)
        )
        assert [d.message_id for d in await ledger.due_deliveries(10.0, 10, any_target=True)] == [
            "i1",
            "s2",
        ]
        assert await ledger.tried(["s1", "i1"]) == [("s1", True)]

    run(check)


def test_a_page_stops_at_its_byte_budget_and_names_the_next_cursor() -> None:
    async def check(ledger: Ledger) -> None:
        await ledger.write(*(msg(f"m{i}") for i in range(5)))
        first = await ledger.page(limit=2)
        assert [r.id for r in first.rows] == ["m0", "m1"]
        assert first.next == first.rows[-1].seq
        rest = await ledger.page(after=first.next, limit=10)
        assert [r.id for r in rest.rows] == ["m2", "m3", "m4"]
        assert rest.next is None
        tiny = await ledger.page(max_bytes=1)
        assert [r.id for r in tiny.rows] == ["m0"]
        assert tiny.next is not None

    run(check)


def test_a_version_1_ledger_owes_again_what_it_gave_up(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            direction TEXT NOT NULL, channel TEXT NOT NULL, tot TEXT, tcn TEXT, tcr TEXT,
            ori TEXT, virtual_time TEXT NOT NULL, wall_time TEXT NOT NULL, body TEXT NOT NULL);
        CREATE TABLE deliveries (message_id TEXT PRIMARY KEY, target TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, updated TEXT NOT NULL);
        INSERT INTO messages (id, direction, channel, tcn, tcr, virtual_time, wall_time, body)
            VALUES ('IDR-1', 'out', 'sib', 'IDR-1', 'T1', 'v', 'w', '{}');
        INSERT INTO deliveries VALUES ('IDR-1', 'sut', 'failed', 8, 'HTTP 503', 'w');
        PRAGMA user_version = 1;
        """
    )
    conn.close()

    async def check(ledger: Ledger) -> None:
        owed = await ledger.due_deliveries(time.time(), 10, any_target=False)
        assert [(d.message_id, d.order_key, d.attempts) for d in owed] == [("IDR-1", "T1", 8)]

    run(check, path)


def test_state_round_trip() -> None:
    async def check(ledger: Ledger) -> None:
        assert await ledger.state("clock") is None
        await ledger.write(state_op("clock", '{"mode": "manual"}'))
        await ledger.write(state_op("clock", '{"mode": "scaled"}'))
        assert await ledger.state("clock") == '{"mode": "scaled"}'
        assert (await ledger.counts())["state"] == 1

    run(check)


def test_concurrent_writes_are_group_committed() -> None:
    async def check(ledger: Ledger) -> None:
        before = ledger.commits
        await asyncio.gather(*(ledger.write(msg(f"m{i}")) for i in range(2000)))
        assert (await ledger.counts())["messages"] == 2000
        assert 1 <= ledger.commits - before <= 100

    run(check)


def test_a_failing_write_raises_for_its_caller_only() -> None:
    async def check(ledger: Ledger) -> None:
        # Writes begun in one turn of the event loop are committed as one group.
        calls = [ledger.write(msg(f"m{i}")) for i in range(100)]
        calls.insert(50, ledger.write(msg("bad", direction="sideways")))
        calls.insert(70, ledger.write(msg("m1000"), msg("bad2", direction="up")))
        gathered = asyncio.gather(*calls, return_exceptions=True)
        outcomes = await gathered
        errors = [o for o in outcomes if o is not None]
        assert len(errors) == 2
        assert all(isinstance(e, sqlite3.IntegrityError) for e in errors)
        assert outcomes[50] is errors[0]
        assert outcomes[70] is errors[1]
        assert (await ledger.counts())["messages"] == 100
        assert await ledger.message("bad") is None
        assert await ledger.message("m1000") is None  # a write is atomic
        await ledger.write(msg("after"))
        assert await ledger.message("after") is not None

    run(check)


def test_file_ledger_reopened_sees_everything(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"

    async def fill(ledger: Ledger) -> None:
        await ledger.write(msg("m1", tcn="T1"), msg("m2", tcr="T1", direction="out"))
        await ledger.write(timer_op(id="t1", due=60.0, kind="idr", payload='{"tcn": "T1"}'))
        await ledger.write(delivery_op(message_id="m2", target="sut"), state_op("clock", "42"))

    async def check(ledger: Ledger) -> None:
        assert await ledger.counts() == {"messages": 2, "timers": 1, "deliveries": 1, "state": 1}
        assert [m.id for m in await ledger.messages(tcn="T1")] == ["m1", "m2"]
        assert await ledger.pending_timers() == [TimerRow("t1", 60.0, "idr", '{"tcn": "T1"}')]
        assert [d.message_id for d in await ledger.pending_deliveries()] == ["m2"]
        assert await ledger.state("clock") == "42"
        await ledger.write(msg("m3"))
        assert [m.seq for m in await ledger.messages()] == [1, 2, 3]

    run(fill, path)
    run(check, path)
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_full_synchronous_option(tmp_path: Path) -> None:
    async def check(ledger: Ledger) -> None:
        await ledger.write(msg("m1"))
        assert (await ledger.counts())["messages"] == 1

    run(check, tmp_path / "full.db")
    asyncio.run(_open_close(Ledger(tmp_path / "full.db", synchronous="FULL")))
    with pytest.raises(ValueError, match="synchronous"):
        Ledger(tmp_path / "x.db", synchronous="OFF")  # type: ignore[arg-type]


async def _open_close(ledger: Ledger) -> None:
    async with ledger:
        assert (await ledger.counts())["messages"] == 1


CHILD = """
import asyncio, sys
from mocks.storage.ledger import Ledger
from mocks.storage.records import message_op

async def main() -> None:
    async with Ledger(sys.argv[1]) as ledger:
        for k in range(1, 1_000_000):
            await ledger.write(message_op(
                id=f"m{k}", direction="in", channel="cjis", tot="CAR", tcn=f"T{k}", tcr=None,
                ori="NC0920000", virtual_time="2025-01-06T14:00:00Z", body="{}" + "x" * 500))
            print(f"written {k}", flush=True)

asyncio.run(main())
"""


def test_an_acknowledged_write_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    written = 0
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 15
        while written < 300 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            if line.startswith("written "):
                written = int(line.split()[1])
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        _, err = child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL, err
    assert written >= 300, err
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (rows,) = db.execute("SELECT count(*) FROM messages").fetchone()
        assert rows >= written
        (last,) = db.execute("SELECT max(seq) FROM messages").fetchone()
        assert last == rows

    async def check(ledger: Ledger) -> None:
        assert (await ledger.counts())["messages"] == rows
        assert await ledger.message(f"m{written}") is not None

    run(check, path)


def test_in_memory_ledgers_are_isolated() -> None:
    async def check() -> None:
        async with Ledger() as one, Ledger(":memory:") as two:
            await one.write(msg("m1"), state_op("k", "one"))
            assert (await one.counts())["messages"] == 1
            assert (await two.counts())["messages"] == 0
            assert await two.state("k") is None

    asyncio.run(check())


def test_reset_empties_every_table() -> None:
    async def check(ledger: Ledger) -> None:
        await ledger.write(
            msg("m1"),
            timer_op(id="t1", due=1.0, kind="sre", payload="{}"),
            delivery_op(message_id="m1", target="sut"),
            state_op("k", "v"),
        )
        await ledger.reset()
        assert await ledger.counts() == {"messages": 0, "timers": 0, "deliveries": 0, "state": 0}
        await ledger.write(msg("m2"))
        assert [m.seq for m in await ledger.messages()] == [1]

    run(check)


def test_close_flushes_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "flush.db"

    async def main() -> None:
        ledger = Ledger(path)
        await ledger.open()
        await ledger.open()  # already open: no-op
        tasks = [asyncio.create_task(ledger.write(msg(f"m{i}"))) for i in range(500)]
        await asyncio.sleep(0)  # the writes are queued, none awaited yet
        await asyncio.gather(ledger.close(), ledger.close())
        await ledger.close()
        assert all(t.done() and t.exception() is None for t in tasks)
        with pytest.raises(RuntimeError, match="not open"):
            await ledger.write(msg("late"))
        with pytest.raises(RuntimeError, match="not open"):
            await ledger.counts()
        await ledger.open()  # reopened
        assert (await ledger.counts())["messages"] == 500
        await ledger.close()

    asyncio.run(main())


def test_an_unusable_path_fails_to_open(tmp_path: Path) -> None:
    async def main() -> None:
        ledger = Ledger(tmp_path / "missing" / "ledger.db")
        with pytest.raises(sqlite3.OperationalError):
            await ledger.open()
        with pytest.raises(RuntimeError, match="not open"):
            await ledger.write(msg("m1"))
        await ledger.close()

    asyncio.run(main())


def test_rows_are_plain_for_json() -> None:
    row: Any = TimerRow("t", 1.0, "idr", "{}")
    assert as_dict(row) == {"id": "t", "due": 1.0, "kind": "idr", "payload": "{}"}


def test_responses_are_found_by_their_tcr_through_an_index_of_responses_only(
    tmp_path: Path,
) -> None:
    """A submission (no `tcr`) costs the `tcr` index nothing; a ledger made with the full index
    of before is given the partial one when it is opened."""
    path = tmp_path / "tcr.sqlite3"

    async def fill(ledger: Ledger) -> None:
        await ledger.write(msg("car", tcn="T1"), msg("sre", tcn="S1", tcr="T1", direction="out"))

    run(fill, path)
    with contextlib.closing(sqlite3.connect(path)) as db:  # as a ledger of before had it
        db.executescript("DROP INDEX messages_tcr_set; CREATE INDEX messages_tcr ON messages(tcr)")

    async def check(ledger: Ledger) -> None:
        assert [m.id for m in await ledger.messages(tcn="T1")] == ["car", "sre"]

    run(check, path)
    with contextlib.closing(sqlite3.connect(path)) as db:
        indexed = "SELECT id FROM messages INDEXED BY messages_tcr_set WHERE tcr IS NOT NULL"
        assert db.execute(indexed).fetchall() == [("sre",)]
        names = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "messages_tcr" not in names
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT seq FROM messages WHERE seq > 0 AND (tcn = ? OR tcr = ?)",
            ("T1", "T1"),
        ).fetchall()
        assert any("messages_tcr_set" in str(step) for step in plan)
