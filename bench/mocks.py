"""Benchmark of the mock federal endpoints: throughput, timer lateness, memory.

Prints:
  1. submissions per second end to end, in process: CAR → ack → SRE, IDENT, IAQ/IAR at LESC,
     IDR/IAR delivered to a local callback, on a scaled:3600 clock with short delays;
  2. p50/p99 lateness of timers against their virtual deadlines at scaled:3600, for the
     scheduler alone (100,000 timers) and for the service's own timers in run 1;
  3. peak RSS with 100,000 pending timers held by the service (ledger in a file);
  4. the largest the ledger's WAL grows under steady writes that never wait for the checkpoint
     thread (32 MB written in 16,000 messages), against what was written.
Run 1b measures the service without HTTP, to show where the time of run 1 goes.

    python bench/mocks.py [--submissions 5000] [--timers 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mocks.api.app import create_app
from mocks.state.service import MockService
from mocks.timing.clock import VirtualClock
from mocks.timing.scheduler import Scheduler, Timer
from synthetic import Synthesizer

FAST = {
    "name": "bench-fast",
    "steps": {
        "sre": {"fixed": 1},
        "idr": {"fixed": 2},
        "iar": {"fixed": 3},
        "idr_alone_after": {"fixed": 86400},
        "no_match_idr": {"fixed": 2},
        "errt": {"fixed": 1},
    },
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cars(n: int, when: datetime) -> list[dict[str, Any]]:
    synth = Synthesizer(7)
    out = []
    for _ in range(n):
        booking = synth.booking("NC0920000", doa=when.date())
        out.append(synth.car(booking, tcn=synth.tcn("NC0920000", when.date()), gmt=when))
    return out


async def end_to_end(n: int, concurrency: int = 64) -> dict[str, float]:
    received: list[float] = []
    done = asyncio.Event()
    expected = 2 * n

    def callback(request: httpx.Request) -> httpx.Response:
        received.append(time.perf_counter())
        if len(received) >= expected:
            done.set()
        return httpx.Response(200)

    with tempfile.TemporaryDirectory() as folder:
        clock = VirtualClock("scaled", scale=3600)
        cars = _cars(n, clock.now())
        service = MockService(
            clock=clock,
            scenario={"ident": {"match_rate": 1}, "timing": FAST},
            ledger=Path(folder) / "bench.sqlite3",
            callback="http://sib.local/cjis/responses",
            transport=httpx.MockTransport(callback),
        )
        async with service:
            transport = httpx.ASGITransport(app=create_app(service))
            async with httpx.AsyncClient(transport=transport, base_url="http://mocks") as client:
                queue = list(reversed(cars))
                began = time.perf_counter()

                async def worker() -> None:
                    while queue:
                        car = queue.pop()
                        response = await client.post("/cjis/submissions", json=car)
                        assert response.status_code == 202, response.text

                await asyncio.gather(*(worker() for _ in range(concurrency)))
                acked = time.perf_counter()
                await asyncio.wait_for(done.wait(), timeout=600)
                finished = time.perf_counter()
            lateness = sorted(service.scheduler.lateness)
    return {
        "acks_per_s": n / (acked - began),
        "end_to_end_per_s": n / (finished - began),
        "service_lateness_p50_ms": 1000 * statistics.median(lateness),
        "service_lateness_p99_ms": 1000 * lateness[int(0.99 * (len(lateness) - 1))],
    }


async def service_alone(n: int, concurrency: int = 64) -> dict[str, float]:
    """The mock's own work, no HTTP on either side: submit, then fire every timer."""
    with tempfile.TemporaryDirectory() as folder:
        clock = VirtualClock("manual")
        cars = _cars(n, clock.now())
        service = MockService(
            clock=clock,
            scenario={"ident": {"match_rate": 1}, "timing": FAST},
            ledger=Path(folder) / "alone.sqlite3",
        )
        async with service:
            queue = list(reversed(cars))
            began = time.perf_counter()

            async def worker() -> None:
                while queue:
                    await service.submit(queue.pop())

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            submitted = time.perf_counter()
            fired = await service.scheduler.run_until(clock.now() + timedelta(seconds=10))
            finished = time.perf_counter()
    return {
        "submissions_per_s": n / (submitted - began),
        "timers_fired_per_s": fired / (finished - submitted),
    }


async def scheduler_lateness(count: int) -> dict[str, float]:
    clock = VirtualClock("scaled", scale=3600)
    fired = 0
    finished = asyncio.Event()

    async def fire(batch: list[Timer]) -> None:
        nonlocal fired
        fired += len(batch)
        if fired >= count:
            finished.set()

    scheduler = Scheduler(clock, fire)
    start = clock.timestamp() + 60
    span = 6 * 3600
    for i in range(count):
        scheduler.add(start + span * i / count, f"t{i}")
    await scheduler.start()
    await asyncio.wait_for(finished.wait(), timeout=120)
    await scheduler.stop()
    lateness = sorted(scheduler.lateness)
    return {
        "timers": float(count),
        "lateness_p50_ms": 1000 * statistics.median(lateness),
        "lateness_p99_ms": 1000 * lateness[int(0.99 * (len(lateness) - 1))],
        "lateness_max_ms": 1000 * lateness[-1],
    }


async def pending_memory(timers: int) -> dict[str, float]:
    gc.collect()
    before = _rss_mb()
    with tempfile.TemporaryDirectory() as folder:
        start = datetime(2026, 11, 23, 9, tzinfo=UTC)
        service = MockService(
            clock=VirtualClock("manual", start=start),
            scenario={"ident": {"match_rate": 1}},
            ledger=Path(folder) / "pending.sqlite3",
        )
        async with service:
            synth = Synthesizer(3)
            while len(service.scheduler) < timers:
                booking = synth.booking("NC0920000", doa=start.date())
                car = synth.car(booking, tcn=synth.tcn("NC0920000", start.date()), gmt=start)
                await service.submit(car)
            pending = len(service.scheduler)
            after = _rss_mb()
            service.clock.set(start + timedelta(seconds=1))
    return {"pending_timers": float(pending), "rss_before_mb": before, "peak_rss_mb": after}


async def wal_under_steady_writes(rounds: int = 400, width: int = 40) -> dict[str, float]:
    from mocks.storage.ledger import Ledger
    from mocks.storage.records import message_op

    body = "{}" + "x" * 2000
    fields = {"direction": "in", "channel": "cjis", "tot": "CAR", "tcr": None, "body": body}
    when = {"ori": "NC0920000", "virtual_time": "2026-11-23T09:00:00Z"}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "steady.sqlite3"
        wal = Path(f"{path}-wal")
        largest = 0
        async with Ledger(path) as ledger:
            for r in range(rounds):
                ops = (
                    message_op(id=f"m{r}-{k}", tcn=f"T{r}-{k}", **fields, **when)
                    for k in range(width)
                )
                await asyncio.gather(*(ledger.write(op) for op in ops))
                largest = max(largest, wal.stat().st_size)
            checkpointer = ledger.checkpointer
            assert checkpointer is not None
            written = rounds * width * len(body)
            return {
                "written_mb": written / 2**20,
                "largest_wal_mb": largest / 2**20,
                "largest_wal_share_of_written": largest / written,
                "checkpoints": float(checkpointer.checkpoints),
                "restarts": float(checkpointer.restarts),
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=5000)
    parser.add_argument("--timers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
        loop_name = "uvloop"
    except ImportError:
        loop_name = "asyncio"
    print(f"event loop: {loop_name}; python {sys.version.split()[0]}")

    n, timers, repeat = args.submissions, args.timers, args.repeat

    def report(title: str, bench: Callable[[], Coroutine[Any, Any, dict[str, float]]]) -> None:
        runs = [asyncio.run(bench()) for _ in range(repeat)]
        print(f"\n{title} (median of {repeat})")
        for key in runs[0]:
            print(f"   {key:28} {statistics.median(r[key] for r in runs):10.2f}")

    report(
        f"1. end to end, {n} CARs all matching, in process, scaled:3600; target >= 1,000/s",
        lambda: end_to_end(n),
    )
    report(
        f"1b. the service alone (no HTTP client, no deliveries), {n} CARs, ledger in a file",
        lambda: service_alone(n),
    )
    report(
        f"2. scheduler alone, {timers} timers over 6 virtual hours at scaled:3600; "
        "target p99 <= 50 ms",
        lambda: scheduler_lateness(timers),
    )
    repeat = 1
    report(
        f"3. service holding {timers} pending timers; target <= 300 MB",
        lambda: pending_memory(timers),
    )
    repeat = args.repeat
    report(
        "4. the ledger's WAL under steady writes, checkpoints never waited for; target share < 0.5",
        wal_under_steady_writes,
    )


if __name__ == "__main__":
    main()
