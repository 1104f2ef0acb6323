"""A submission's ledger write: its message and first timer as one row of the `intake` view, a
group of submissions one statement, committed by itself; a taken TCN refused for its caller only."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from mocks.storage.bulk import single, steps
from mocks.storage.ledger import Ledger
from mocks.storage.records import Op, intake_op, message_op, timer_op

VT = "2025-01-06T14:00:00Z"


def _message(id: str, tcn: str | None = None) -> Op:
    return message_op(
        id=id, direction="in", channel="cjis", tot="CAR", tcn=tcn or id, tcr=None,
        ori="NC0920000", virtual_time=VT, body='{"n": 1}',
    )  # fmt: skip


def _submission(tcn: str, payload: str = "[]") -> Op:
    return intake_op(
        _message(f"in:{tcn}", tcn),
        timer_op(id=f"{tcn}#plan", due=60.0, kind="plan", payload=payload),
    )


def test_a_group_of_submissions_is_one_statement() -> None:
    todo = steps([_submission(f"T{k}") for k in range(32)])
    assert single(todo)
    assert not single(steps([_submission("T1"), _message("m1")]))


def test_a_group_of_submissions_commits_each_message_with_its_timer(tmp_path: Path) -> None:
    async def main() -> None:
        async with Ledger(tmp_path / "intake.sqlite3") as ledger:
            before = ledger.commits
            await asyncio.gather(*(ledger.write(_submission(f"T{k}")) for k in range(200)))
            assert ledger.commits - before < 200
            assert await ledger.counts() == {
                "messages": 200, "timers": 200, "deliveries": 0, "state": 0
            }  # fmt: skip
            timers = await ledger.timers([f"T{k}#plan" for k in range(200)])
            assert len(timers) == 200
            assert (await ledger.message("in:T7")) is not None

    asyncio.run(main())


def test_a_taken_tcn_in_a_group_is_refused_to_its_caller_alone() -> None:
    async def main() -> None:
        async with Ledger() as ledger:
            await ledger.write(_submission("A", '["first"]'))
            # Begun in one turn of the event loop: one group of all three.
            writes = [
                asyncio.ensure_future(ledger.write(_submission(tcn, '["again"]')))
                for tcn in ("B", "A", "C")
            ]
            outcomes = await asyncio.gather(*writes, return_exceptions=True)
            assert outcomes[0] is None
            assert outcomes[2] is None
            assert isinstance(outcomes[1], sqlite3.IntegrityError)
            assert (await ledger.counts())["messages"] == 3
            (timer,) = await ledger.timers(["A#plan"])
            assert timer.payload == '["first"]'  # the refused write left nothing behind

    asyncio.run(main())


def test_a_call_writing_messages_around_a_submission_keeps_their_order() -> None:
    async def main() -> None:
        async with Ledger() as ledger:
            await ledger.write(_message("m1"), _submission("T1"), _message("m2"))
            assert [m.id for m in await ledger.messages()] == ["m1", "in:T1", "m2"]

    asyncio.run(main())


def test_intake_op_takes_a_message_and_a_timer() -> None:
    timer = timer_op(id="T#plan", due=1.0, kind="plan", payload="[]")
    with pytest.raises(ValueError, match="intake_op"):
        intake_op(timer, timer)
    with pytest.raises(ValueError, match="intake_op"):
        intake_op(_message("m"), _message("n"))
