"""The checkpoint thread of a file ledger: the WAL stays bounded under steady writes, the ledger
stays readable meanwhile, and what was acknowledged survives a kill in the middle of it all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mocks.storage.checkpoint
from mocks.storage.ledger import Ledger
from mocks.storage.records import Op, message_op

REPO = Path(__file__).resolve().parents[1]
BODY = "{}" + "x" * 2000


def _message(k: int) -> Op:
    return message_op(
        id=f"m{k}", direction="in", channel="cjis", tot="CAR", tcn=f"T{k}", tcr=None,
        ori="NC0920000", virtual_time="2025-01-06T14:00:00Z", body=BODY,
    )  # fmt: skip


def test_the_wal_starts_over_once_checkpointed_and_the_ledger_stays_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every round of writes waits for a look of the checkpoint thread after it began (however
    slow the machine), and each look finds more than `WAL_PAGES`, so the writer's next
    transaction starts the WAL over: its bound is a round or two, not the machine's speed; how large
    it grows when nothing waits for the thread is a figure of `bench/mocks.py` (run 4)."""
    monkeypatch.setattr(mocks.storage.checkpoint, "WAL_PAGES", 8)  # less than a round writes
    monkeypatch.setattr(mocks.storage.checkpoint, "INTERVAL", 0.002)
    path = tmp_path / "steady.sqlite3"
    wal = Path(f"{path}-wal")
    rounds, width = 120, 40

    async def main() -> tuple[int, int, int]:
        largest = 0
        async with Ledger(path) as ledger:
            checkpointer = ledger.checkpointer
            assert checkpointer is not None
            for r in range(rounds):
                looked = checkpointer.checkpoints
                await asyncio.gather(*(ledger.write(_message(r * width + k)) for k in range(width)))
                largest = max(largest, wal.stat().st_size)
                if r % 10 == 0:  # readable while written and checkpointed
                    assert await ledger.message(f"m{r * width}") is not None
                deadline = time.monotonic() + 60
                while checkpointer.checkpoints == looked and time.monotonic() < deadline:
                    await asyncio.sleep(0.001)
            assert (await ledger.counts())["messages"] == rounds * width
            return largest, checkpointer.checkpoints, checkpointer.restarts

    largest, checkpoints, restarts = asyncio.run(main())
    written = rounds * width * len(BODY)
    assert checkpoints >= rounds // 10
    assert restarts > 0
    # 9.6 MB written; the WAL never held more than a tenth of it (about two rounds).
    assert largest < written / 10, (largest, written)
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM messages").fetchone() == (rounds * width,)


def test_the_writer_commits_without_checkpointing(tmp_path: Path) -> None:
    """The WAL is copied into the database by the checkpoint thread, not by the writer's commits:
    with that thread stopped, the WAL grows past SQLite's own checkpoint point (1,000 pages)."""

    async def main() -> int:
        async with Ledger(tmp_path / "writer.sqlite3") as ledger:
            assert ledger.checkpointer is not None
            ledger.checkpointer.stop()
            for r in range(40):
                await asyncio.gather(*(ledger.write(_message(r * 100 + k)) for k in range(100)))
            return Path(f"{ledger.path}-wal").stat().st_size

    assert asyncio.run(main()) > 1000 * 4096


def test_an_in_memory_ledger_has_no_checkpoint_thread() -> None:
    async def main() -> None:
        async with Ledger() as ledger:
            assert ledger.checkpointer is None
            await ledger.write(_message(1))

    asyncio.run(main())


CHILD = """
import asyncio, sys
import mocks.storage.checkpoint
from mocks.storage.ledger import Ledger
from mocks.storage.records import Op, message_op

mocks.storage.checkpoint.WAL_PAGES = 16
mocks.storage.checkpoint.INTERVAL = 0.001

async def main() -> None:
    async with Ledger(sys.argv[1]) as ledger:
        for k in range(1, 1_000_000):
            await asyncio.gather(*(ledger.write(message_op(
                id=f"m{k}-{j}", direction="in", channel="cjis", tot="CAR", tcn=f"T{k}-{j}",
                tcr=None, ori="NC0920000", virtual_time="2025-01-06T14:00:00Z",
                body="{}" + "x" * 4000)) for j in range(8)))
            print(f"written {k} {ledger.checkpointer.restarts}", flush=True)

asyncio.run(main())
"""


def test_what_was_acknowledged_survives_a_kill_while_checkpoints_run(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    written = restarts = 0
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 30
        while (written < 400 or restarts < 3) and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            if line.startswith("written "):
                written, restarts = (int(n) for n in line.split()[1:])
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        _, err = child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL, err
    assert written >= 400, err
    assert restarts >= 3, err
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (rows,) = db.execute("SELECT count(*) FROM messages").fetchone()
        assert rows >= written * 8
        found = db.execute("SELECT count(*) FROM messages WHERE id LIKE ?", (f"m{written}-%",))
        assert found.fetchone() == (8,)
