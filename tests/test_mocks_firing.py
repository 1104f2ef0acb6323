"""Timers falling due in large batches: written in several commits of whole timers (so that
submissions' commits go in between), every planned step scheduled and nothing lost."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

import mocks.state.firing
from mocks.state.firing import _chunks
from mocks.state.service import MockService
from mocks.storage.records import Op, state_op
from synthetic import Synthesizer
from tests.conftest import booking_car, manual_clock


def _ops(n: int) -> list[Op]:
    return [state_op(f"k{i}", "v") for i in range(n)]


def test_chunks_keep_each_timer_whole_and_stay_near_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mocks.state.firing, "WRITE_OPS", 10)
    written = [(_ops(4), [(1.0, "a")]), (_ops(4), []), (_ops(4), [(2.0, "b")]), (_ops(12), [])]
    chunks = _chunks(written)
    assert [len(ops) for ops, _ in chunks] == [8, 4, 12]  # 12: one timer's, never split
    assert [timers for _, timers in chunks] == [[(1.0, "a")], [(2.0, "b")], []]
    assert [op for ops, _ in chunks for op in ops] == [op for ops, _ in written for op in ops]


def test_a_large_batch_of_plans_is_written_in_several_commits_and_all_scheduled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mocks.state.firing, "WRITE_OPS", 100)
    synth = Synthesizer(77)

    async def main() -> None:
        async with MockService(clock=manual_clock()) as service:
            for _ in range(60):
                assert (await service.submit(booking_car(synth)))["status"] == "accepted"
            plans = len(service.scheduler)
            due = service.scheduler.next_due()
            assert due is not None
            commits = service.ledger.commits
            assert await service.scheduler.run_until(datetime.fromtimestamp(due, UTC)) == plans
            assert service.ledger.commits - commits > 2  # the plans went in several writes
            planned = await service.ledger.pending_timers()
            assert len(planned) == len(service.scheduler) > plans  # each step scheduled
            assert not [t for t in planned if t.kind == "plan"]  # every submission planned
            facts = await service.ledger.states([f"facts:{t.id.split('#')[0]}" for t in planned])
            assert len(facts) == 60

    asyncio.run(main())


def test_on_a_scaled_clock_the_planner_gives_way_to_intake_within_its_lag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Plans fallen due on a scaled clock go to the planner (off the runner): it waits while
    submissions keep coming and it had its share, until the oldest is `PLAN_LAG` virtual seconds
    past its due; then every submission is planned and its steps scheduled."""
    synth = Synthesizer(78)
    monkeypatch.setattr(mocks.state.firing, "PLAN_LAG", 1e9)

    async def main() -> None:
        async with MockService(clock="scaled:600") as service:

            async def busy() -> None:  # submissions keep coming
                while True:
                    service.intake_at = time.monotonic()
                    await asyncio.sleep(0.002)

            service._rest_until = float("inf")  # and the planner had its share
            coming = asyncio.create_task(busy())
            tcns = []
            for _ in range(40):
                car = booking_car(synth)
                tcns.append(car["type1"]["tcn"])
                assert (await service.submit(car))["status"] == "accepted"
            await asyncio.sleep(0.1)  # 60 virtual s: the plans (due at 5 s) fell due
            assert service.planning == 40
            assert (await service.health())["pending_timers"] >= 40
            assert not await service.ledger.states([f"facts:{tcn}" for tcn in tcns])
            monkeypatch.setattr(mocks.state.firing, "PLAN_LAG", 1.0)  # now past the lag: planned
            for _ in range(500):
                facts = await service.ledger.states([f"facts:{tcn}" for tcn in tcns])
                if len(facts) == 40:
                    break
                await asyncio.sleep(0.01)
            coming.cancel()
            assert len(facts) == 40
            assert service.planning == 0
            pending = await service.ledger.pending_timers()
            assert not [t for t in pending if t.kind == "plan"]

    asyncio.run(main())
