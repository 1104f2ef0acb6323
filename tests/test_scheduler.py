"""The timer heap: manual `run_until`, the scaled runner, cancellation, and 100,000 timers."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from mocks.timing.clock import VirtualClock
from mocks.timing.scheduler import LATENESS_KEPT, Scheduler, Timer

T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
S0 = T0.timestamp()
HOUR = 3600.0


class Recorder:
    """A `fire` callback that records each batch with the clock's now and the wall time."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.batches: list[list[Timer]] = []
        self.stamps: list[datetime] = []
        self.walls: list[float] = []
        self.fired = asyncio.Event()
        self.then: Callable[[list[Timer]], Awaitable[None]] | None = None

    async def __call__(self, batch: list[Timer]) -> None:
        self.batches.append(batch)
        self.stamps.append(self.clock.now())
        self.walls.append(time.monotonic())
        self.fired.set()
        if self.then is not None:
            await self.then(batch)

    @property
    def ids(self) -> list[str]:
        return [t.id for batch in self.batches for t in batch]


def manual() -> tuple[VirtualClock, Recorder, Scheduler]:
    clock = VirtualClock("manual", start=T0)
    recorder = Recorder(clock)
    return clock, recorder, Scheduler(clock, recorder)


def test_run_until_fires_in_due_order_stamped_with_each_due_time() -> None:
    async def scenario() -> None:
        clock, rec, sched = manual()
        sched.add(S0 + 4 * HOUR, "iar")
        sched.add(S0 + 900, "idr")
        sched.add(S0 + 60, "sre")
        assert len(sched) == 3
        assert sched.next_due() == S0 + 60
        fired = await sched.run_until(T0 + timedelta(hours=5))
        assert fired == 3
        assert rec.ids == ["sre", "idr", "iar"]
        assert rec.stamps == [
            T0 + timedelta(seconds=60),
            T0 + timedelta(minutes=15),
            T0 + timedelta(hours=4),
        ]
        assert [t.due for b in rec.batches for t in b] == [S0 + 60, S0 + 900, S0 + 4 * HOUR]
        assert clock.now() == T0 + timedelta(hours=5)
        assert len(sched) == 0
        assert sched.next_due() is None

    asyncio.run(scenario())


def test_timers_fire_adds_fire_too_when_due_by_then_and_later_ones_stay_pending() -> None:
    async def scenario() -> None:
        clock, rec, sched = manual()

        async def follow_up(batch: list[Timer]) -> None:
            for timer in batch:
                if timer.id == "car":  # the SRE 10 min later, the IDR alone 24 h later
                    sched.add(clock.timestamp() + 600, "sre")
                    sched.add(clock.timestamp() + 24 * HOUR, "idr-alone")

        rec.then = follow_up
        sched.add(S0 + 60, "car")
        sched.add(S0 + 2 * HOUR, "other")
        sched.add(S0 + 10 * HOUR, "beyond")
        assert await sched.run_until(T0 + timedelta(hours=3)) == 3
        assert rec.ids == ["car", "sre", "other"]
        assert rec.stamps[1] == T0 + timedelta(seconds=660)
        assert clock.now() == T0 + timedelta(hours=3)
        assert len(sched) == 2
        assert "idr-alone" in sched
        assert "beyond" in sched
        assert sched.next_due() == S0 + 10 * HOUR
        assert await sched.run_until(T0 + timedelta(hours=30)) == 2
        assert rec.ids[-2:] == ["beyond", "idr-alone"]

    asyncio.run(scenario())


def test_a_timer_due_exactly_at_when_fires() -> None:
    async def scenario() -> None:
        _, rec, sched = manual()
        sched.add(S0 + 15, "edge")
        assert await sched.run_until(T0 + timedelta(seconds=15)) == 1
        assert rec.ids == ["edge"]

    asyncio.run(scenario())


def test_same_instant_timers_fire_as_one_batch() -> None:
    async def scenario() -> None:
        _, rec, sched = manual()
        for name in ("a", "b", "c"):
            sched.add(S0 + 900, name)
        sched.add(S0 + 901, "d")
        assert await sched.run_until(T0 + timedelta(hours=1)) == 4
        assert [[t.id for t in b] for b in rec.batches] == [["a", "b", "c"], ["d"]]

    asyncio.run(scenario())


def test_overdue_timers_fire_at_the_current_now() -> None:
    async def scenario() -> None:
        clock, rec, sched = manual()
        clock.advance(HOUR)
        sched.add(S0 + 60, "late")
        assert await sched.run_until(clock.now()) == 1
        assert rec.stamps == [T0 + timedelta(hours=1)]

    asyncio.run(scenario())


def test_cancel_and_len() -> None:
    async def scenario() -> None:
        _, rec, sched = manual()
        for i in range(5):
            sched.add(S0 + i, f"t{i}")
        assert len(sched) == 5
        assert sched.cancel("t0") is True
        assert sched.cancel("t0") is False
        assert sched.cancel("never") is False
        assert sched.cancel("t3") is True
        assert len(sched) == 3
        assert "t3" not in sched
        assert sched.next_due() == S0 + 1
        assert await sched.run_until(T0 + timedelta(minutes=1)) == 3
        assert rec.ids == ["t1", "t2", "t4"]
        assert len(sched) == 0

    asyncio.run(scenario())


def test_adding_a_pending_id_again_reschedules_it() -> None:
    async def scenario() -> None:
        _, rec, sched = manual()
        sched.add(S0 + 10, "x")
        sched.add(S0 + 20, "y")
        sched.add(S0 + 30, "x")
        assert len(sched) == 2
        sched.cancel("y")
        sched.add(S0 + 5, "y")  # cancelled, then added again: pending again
        assert await sched.run_until(T0 + timedelta(minutes=1)) == 2
        assert [(t.id, t.due) for b in rec.batches for t in b] == [("y", S0 + 5), ("x", S0 + 30)]

    asyncio.run(scenario())


def test_cancelled_entries_do_not_pile_up_in_the_heap() -> None:
    _, _, sched = manual()
    for i in range(10_000):
        sched.add(S0 + i, f"t{i}")
    for i in range(9_000):
        sched.cancel(f"t{i}")
    assert len(sched) == 1_000
    assert len(sched._heap) < 3_000
    assert sched.next_due() == S0 + 9_000


def test_bad_due_names_the_field() -> None:
    _, _, sched = manual()
    for bad in (float("nan"), float("inf"), True, "1", None):
        with pytest.raises(ValueError, match=r"^due: must be a finite number"):
            sched.add(bad, "x")  # type: ignore[arg-type]
    assert len(sched) == 0
    sched.add(int(S0), "whole")  # an int is taken as float seconds
    assert sched.next_due() == int(S0)
    assert isinstance(sched.next_due(), float)


def test_run_until_refuses_other_clocks_and_going_backwards() -> None:
    async def scenario() -> None:
        scaled = VirtualClock("scaled", scale=60, start=T0)
        with pytest.raises(ValueError, match=r"^run_until: needs a manual clock"):
            await Scheduler(scaled, Recorder(scaled)).run_until(T0 + timedelta(hours=1))
        clock, rec, sched = manual()
        clock.advance(60)
        sched.add(S0 + 1, "x")
        with pytest.raises(ValueError, match=r"^when: .* never moves backwards"):
            await sched.run_until(T0)
        assert rec.ids == []
        assert len(sched) == 1

    asyncio.run(scenario())


def test_run_until_logs_a_failing_fire_and_carries_on(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        clock, rec, sched = manual()

        async def boom(batch: list[Timer]) -> None:
            if batch[0].id == "bad":
                raise RuntimeError("delivery failed")

        rec.then = boom
        sched.add(S0 + 1, "bad")
        sched.add(S0 + 2, "good")
        assert await sched.run_until(T0 + timedelta(seconds=5)) == 2
        assert rec.ids == ["bad", "good"]
        assert clock.now() == T0 + timedelta(seconds=5)

    with caplog.at_level(logging.ERROR, logger="interop.scheduler"):
        asyncio.run(scenario())
    assert any("delivery failed" in (r.exc_text or "") for r in caplog.records)


def test_manual_runner_catches_up_when_the_clock_is_advanced() -> None:
    async def scenario() -> None:
        clock, rec, sched = manual()
        await sched.start()
        sched.add(S0 + 60, "sre")
        await asyncio.sleep(0.05)
        assert rec.ids == []  # the manual runner never moves time itself
        clock.advance(120)
        await asyncio.wait_for(rec.fired.wait(), 2)
        assert rec.ids == ["sre"]
        assert clock.now() == T0 + timedelta(seconds=120)
        rec.fired.clear()
        sched.add(clock.timestamp(), "now")  # due at the virtual now: fires at once
        await asyncio.wait_for(rec.fired.wait(), 2)
        assert rec.ids == ["sre", "now"]
        await sched.run_until(T0 + timedelta(hours=1))  # alongside the runner
        await sched.stop()

    asyncio.run(scenario())


def test_scaled_timers_an_hour_apart_fire_about_a_wall_second_apart() -> None:
    async def scenario() -> None:
        clock = VirtualClock("scaled", scale=3600)
        rec = Recorder(clock)
        sched = Scheduler(clock, rec)
        base = clock.timestamp()
        sched.add(base + 2 * HOUR, "two")
        sched.add(base + HOUR, "one")
        began = time.monotonic()
        await sched.start()
        while len(rec.ids) < 2:
            rec.fired.clear()
            await asyncio.wait_for(rec.fired.wait(), 5)
        await sched.stop()
        assert rec.ids == ["one", "two"]
        first, second = (w - began for w in rec.walls)
        assert 0.9 <= first <= 2.0
        assert 0.5 <= second - first <= 2.0
        assert rec.stamps[0].timestamp() >= base + HOUR - 1e-6
        assert rec.stamps[1].timestamp() >= base + 2 * HOUR - 1e-6
        assert len(sched.lateness) == 2
        assert all(0 <= late < 1.0 for late in sched.lateness)

    asyncio.run(scenario())


def test_a_sooner_timer_wakes_the_runner() -> None:
    async def scenario() -> None:
        clock = VirtualClock("scaled", scale=3600)
        rec = Recorder(clock)
        sched = Scheduler(clock, rec)
        sched.add(clock.timestamp() + 100 * HOUR, "far")  # 100 s of wall time away
        await sched.start()
        await asyncio.sleep(0.05)  # the runner is now waiting for "far"
        began = time.monotonic()
        sched.add(clock.timestamp() + 360, "soon")  # 0.1 s of wall time away
        await asyncio.wait_for(rec.fired.wait(), 2)
        assert rec.ids == ["soon"]
        assert time.monotonic() - began < 2
        assert len(sched) == 1
        await sched.stop()

    asyncio.run(scenario())


def test_a_failing_fire_does_not_stop_the_runner(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        clock = VirtualClock("scaled", scale=36_000)
        rec = Recorder(clock)

        async def boom(batch: list[Timer]) -> None:
            if batch[0].id == "bad":
                raise RuntimeError("SIB callback refused")

        rec.then = boom
        sched = Scheduler(clock, rec)
        await sched.start()
        sched.add(clock.timestamp() + 360, "bad")  # 10 ms of wall time
        sched.add(clock.timestamp() + 3600, "good")  # 100 ms of wall time
        while "good" not in rec.ids:
            rec.fired.clear()
            await asyncio.wait_for(rec.fired.wait(), 2)
        assert sched.running
        await sched.stop()

    with caplog.at_level(logging.ERROR, logger="interop.scheduler"):
        asyncio.run(scenario())
    assert any("SIB callback refused" in (r.exc_text or "") for r in caplog.records)


def test_timers_that_fell_due_while_down_fire_at_once_after_restore() -> None:
    async def scenario() -> None:
        before = VirtualClock("scaled", scale=3600)
        text = before.snapshot()
        due = before.timestamp() + 5 * HOUR  # would be 5 s of wall time ...
        # ... and the mock was down for 10 s of wall time.
        clock = VirtualClock.restore(text, posix=lambda: time.time() + 10)
        rec = Recorder(clock)
        sched = Scheduler(clock, rec)
        sched.add(due, "owed")
        await sched.start()
        await asyncio.wait_for(rec.fired.wait(), 2)
        assert rec.ids == ["owed"]
        assert sched.lateness[-1] > 4  # late by the ~5 s of wall time spent down
        await sched.stop()

    asyncio.run(scenario())


def test_stop_is_idempotent_and_start_twice_is_one_runner() -> None:
    async def scenario() -> None:
        clock, rec, sched = manual()
        await sched.stop()  # never started
        await sched.start()
        task = sched._task
        await sched.start()
        assert sched._task is task
        assert sched.running
        await sched.stop()
        await sched.stop()
        assert not sched.running
        assert task is not None
        assert task.cancelled()

        async def stop_from_inside(batch: list[Timer]) -> None:
            await sched.stop()

        rec.then = stop_from_inside
        await sched.start()
        sched.add(clock.timestamp(), "last")
        await asyncio.wait_for(rec.fired.wait(), 2)
        await asyncio.sleep(0)
        assert not sched.running

    asyncio.run(scenario())


def test_lateness_keeps_only_the_most_recent() -> None:
    _, _, sched = manual()
    assert sched.lateness.maxlen == LATENESS_KEPT == 100_000


def test_100k_timers_fire_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    n = 100_000
    rng = random.Random(7)
    dues = [S0 + rng.uniform(0, 24 * HOUR) for _ in range(n)]
    ids = [f"tcn-{i:06d}" for i in range(n)]  # the caller's own data

    async def scenario() -> tuple[float, float, int]:
        clock = VirtualClock("manual", start=T0)
        fired: list[float] = []

        async def fire(batch: list[Timer]) -> None:
            assert clock.timestamp() == pytest.approx(batch[0].due, abs=1e-6)
            fired.extend(t.due for t in batch)

        sched = Scheduler(clock, fire)
        tracemalloc.start()
        began = time.perf_counter()
        for due, id in zip(dues, ids, strict=True):
            sched.add(due, id)
        added = time.perf_counter() - began
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(sched) == n
        began = time.perf_counter()
        assert await sched.run_until(T0 + timedelta(days=1)) == n
        popped = time.perf_counter() - began
        assert fired == sorted(dues)
        assert len(sched) == 0
        return added, popped, peak

    added, popped, peak = asyncio.run(scenario())
    with capsys.disabled():
        print(
            f"\n100k timers: add {added:.3f} s, run_until {popped:.3f} s, "
            f"tracemalloc peak {peak / 2**20:.1f} MiB"
        )
    assert peak < 100 * 2**20


class ListSource:
    """A `TimerSource` over a list, standing for the ledger; fired timers leave it."""

    def __init__(self) -> None:
        self.timers: dict[str, float] = {}
        self.pages = 0
        self.fired: list[Timer] = []

    async def fire(self, batch: list[Timer]) -> None:
        """A scheduler's `fire`: what fires leaves the source."""
        self.fired.extend(batch)
        for timer in batch:
            del self.timers[timer.id]

    async def timer_page(self, after: tuple[float, str] | None, limit: int) -> list[Timer]:
        self.pages += 1
        ordered = sorted((due, id) for id, due in self.timers.items())
        later = [t for t in ordered if after is None or t > after]
        return [Timer(due, id) for due, id in later[:limit]]

    async def pending_timer_count(self) -> int:
        return len(self.timers)


def test_with_a_source_only_the_soonest_are_in_memory_and_all_fire_in_order() -> None:
    clock = VirtualClock("manual", start=T0)
    source = ListSource()
    fired, fire = source.fired, source.fire

    async def main() -> None:
        scheduler = Scheduler(clock, fire, source=source, window=10)
        dues = [S0 + (i * 7919) % 500 for i in range(200)]  # many share a due instant
        for i, due in enumerate(dues):
            source.timers[f"t{i:03d}"] = due
            scheduler.add(due, f"t{i:03d}")
            assert len(scheduler._live) <= 20
        assert len(scheduler) == 200
        assert await scheduler.run_until(T0 + timedelta(seconds=600)) == 200
        assert len(scheduler) == 0

    asyncio.run(main())
    assert [(t.due, t.id) for t in fired] == sorted((t.due, t.id) for t in fired)
    assert len({t.id for t in fired}) == 200
    assert source.pages >= 10


def test_resume_takes_the_soonest_from_the_source() -> None:
    clock = VirtualClock("manual", start=T0)
    source = ListSource()
    source.timers = {f"r{i:02d}": S0 + 60 - i for i in range(30)}
    fired: list[str] = []

    async def fire(batch: list[Timer]) -> None:
        fired.extend(t.id for t in batch)
        for timer in batch:
            del source.timers[timer.id]

    async def main() -> None:
        scheduler = Scheduler(clock, fire, source=source, window=8)
        await scheduler.resume()
        assert len(scheduler) == 30
        assert len(scheduler._live) == 8
        await scheduler.run_until(T0 + timedelta(seconds=61))

    asyncio.run(main())
    assert fired == [f"r{i:02d}" for i in reversed(range(30))]


def test_a_large_window_is_cut_near_its_size_and_all_still_fire_in_order() -> None:
    clock = VirtualClock("manual", start=T0)
    source = ListSource()
    fired, fire = source.fired, source.fire
    sizes: list[int] = []

    async def main() -> None:
        scheduler = Scheduler(clock, fire, source=source, window=2000)
        for i in range(9000):  # past the sample `_shrink` cuts by: the cut is estimated
            due = S0 + (i * 7919) % 3000
            source.timers[f"t{i:04d}"] = due
            scheduler.add(due, f"t{i:04d}")
            sizes.append(len(scheduler._live))
        assert await scheduler.run_until(T0 + timedelta(seconds=4000)) == 9000

    asyncio.run(main())
    assert max(sizes) <= 4001
    cuts = [b for a, b in itertools.pairwise(sizes) if b < a]
    assert cuts
    assert all(1800 <= n <= 2200 for n in cuts)
    assert [(t.due, t.id) for t in fired] == sorted((t.due, t.id) for t in fired)
    assert len({t.id for t in fired}) == 9000
