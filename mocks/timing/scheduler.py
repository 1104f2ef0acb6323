"""Every pending timer in one heap on virtual time, run by one asyncio task.

No thread and no sleeping task per timer: heap entries are small `(due, seq, id)` tuples, cancelled
timers are dropped lazily when they reach the top, and one runner waits for the earliest due instant
(woken early when a sooner timer is added) and hands every timer then due to `fire` as one batch.

With a `manual` clock the runner never moves time: `run_until` does, stamping each group of timers
with its own due instant. The runner only fires timers that are already due when the clock is moved
some other way (e.g. `clock.advance`) or a timer is added at or before the virtual now.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import random
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from mocks.timing.clock import VirtualClock

__all__ = [
    "LATENESS_KEPT",
    "RUNNER_BATCH",
    "WINDOW",
    "Postponed",
    "Scheduler",
    "Timer",
    "TimerSource",
]

RUNNER_BATCH = 1000
"""The most timers the runner (realtime, scaled) hands to `fire` at once; the rest follow."""

WINDOW = 50_000
"""With a `TimerSource`, about how many of the soonest timers are held in memory (at most 2x)."""

LATENESS_KEPT = 100_000
"""How many of the most recent lateness samples `Scheduler.lateness` keeps."""

_log = logging.getLogger("interop.scheduler")

_NUMBERS = (int, float)

# How many heap entries `_shrink` looks at to find where to cut.
_SAMPLE = 2048

# Rebuild the heap without cancelled entries once they are this many and outnumber live ones.
_COMPACT_AT = 1024


class Timer(NamedTuple):
    """A timer that fell due: its virtual due instant (POSIX seconds) and the caller's id."""

    due: float
    id: str


class Postponed(Exception):
    """Raised by `fire`: the batch cannot be fired now (its store cannot write). The scheduler
    takes the batch back; its runner waits for `ready()` before firing again, and `run_until`
    raises this to its caller, the clock left at the batch's instant."""

    def __init__(self, reason: str, ready: Callable[[], Awaitable[object]]) -> None:
        super().__init__(reason)
        self.ready = ready


class TimerSource(Protocol):
    """Where every pending timer is kept (the ledger), for a scheduler that holds only the soonest.

    `timer_page(after, limit)`: pending timers whose `(due, id)` is after `after` (all when None),
    soonest first, at most `limit`; `pending_timer_count()`: how many timers are pending.
    """

    async def timer_page(self, after: tuple[float, str] | None, limit: int) -> list[Timer]: ...

    async def pending_timer_count(self) -> int: ...


class Scheduler:
    """Pending timers on a `VirtualClock`, fired in due order through `fire(batch)`.

    Given a `source`, only about `window` of the soonest timers are held in memory: a timer
    added beyond them stays only in the source (where its owner wrote it first) and is paged in
    when the soonest run low, so memory stays flat however many timers are pending.

    `lateness` holds, for the last `LATENESS_KEPT` timers fired by the runner (realtime/scaled),
    the wall seconds between each timer's wall deadline and when it was handed to `fire`.
    """

    def __init__(
        self,
        clock: VirtualClock,
        fire: Callable[[list[Timer]], Awaitable[None]],
        *,
        source: TimerSource | None = None,
        window: int = WINDOW,
    ) -> None:
        """A scheduler on `clock` that awaits `fire(batch)` for each batch of due timers."""
        self._source = source
        self._window = window
        # Timers after `_last` (by due, id) are only in the source; `_beyond` counts them.
        self._last: tuple[float, str] = (math.inf, "")
        self._beyond = 0
        self._loading: list[tuple[float, str]] | None = None
        self._clock = clock
        self._fire = fire
        self._heap: list[tuple[float, int, str]] = []
        # id -> seq of its live heap entry; an entry whose seq differs is cancelled or replaced.
        self._live: dict[str, int] = {}
        self._seq = itertools.count()
        self._sampler = random.Random(0)
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.lateness: deque[float] = deque(maxlen=LATENESS_KEPT)

    @property
    def clock(self) -> VirtualClock:
        """The clock the timers are due on."""
        return self._clock

    def add(self, due: float, id: str) -> None:
        """Schedule `id` at virtual POSIX time `due` (replacing a pending timer of that id)."""
        if due.__class__ is not float:  # the common case checked first, no union type built
            if isinstance(due, bool) or not isinstance(due, _NUMBERS):
                raise ValueError(f"due: must be a finite number of POSIX seconds (got {due!r})")
            due = float(due)
        if not math.isfinite(due):
            raise ValueError(f"due: must be a finite number of POSIX seconds (got {due!r})")
        if (due, id) > self._last:
            self._beyond += 1
            if self._loading is not None:
                self._loading.append((due, id))
            return
        seq = next(self._seq)
        entry = (due, seq, id)
        self._live[id] = seq
        heapq.heappush(self._heap, entry)
        if self._heap[0] is entry:
            self._wake.set()
        if self._source is not None and len(self._live) > 2 * self._window:
            self._shrink()

    def _shrink(self) -> None:
        """Keep about the soonest `window` timers in memory; the rest are in the source.

        One pass, no sort of the whole heap (sorting 100,000 entries held the event loop for
        60 ms and more, every 50,000 submissions): the cut is the `window`-th soonest of a
        sample (of all entries when there are few: then it is exact), and what is after it
        leaves memory.
        """
        live, heap = self._live, self._heap
        sample = heap if len(heap) <= _SAMPLE else self._sampler.sample(heap, _SAMPLE)
        keys = sorted((e[0], e[2]) for e in sample if live.get(e[2]) == e[1])
        due, id = keys[min(len(keys) - 1, len(keys) * self._window // len(live))]
        kept = [
            e
            for e in heap
            if (e[0] < due or (e[0] == due and e[2] <= id)) and live.get(e[2]) == e[1]
        ]
        self._beyond += len(live) - len(kept)
        self._live = {e[2]: e[1] for e in kept}
        self._last = (due, id)
        heap[:] = kept
        heapq.heapify(heap)

    async def resume(self) -> None:
        """Take up the source's pending timers (after a restart): the soonest into memory."""
        if self._source is None:
            return
        self._beyond = await self._source.pending_timer_count()
        if self._beyond == 0:
            return
        self._last = (-math.inf, "")
        await self._refill()

    async def _refill(self) -> None:
        """Page the next soonest timers in from the source when those in memory run low."""
        if self._source is None or self._beyond <= 0 or len(self._live) >= self._window // 2:
            return
        after = self._last
        self._loading = []
        try:
            page = await self._source.timer_page(
                None if after[0] == -math.inf else after, self._window
            )
        finally:
            added, self._loading = self._loading, None
        last = (math.inf, "") if len(page) < self._window else (page[-1].due, page[-1].id)
        pushed = 0
        # Timers added while the page was read may have been written after it: kept if in range.
        for due, id in [*((t.due, t.id) for t in page), *added]:
            if (due, id) <= last and id not in self._live:
                seq = next(self._seq)
                self._live[id] = seq
                heapq.heappush(self._heap, (due, seq, id))
                pushed += 1
        self._last = last
        self._beyond = 0 if last[0] == math.inf else max(0, self._beyond - pushed)
        self._wake.set()

    def cancel(self, id: str) -> bool:
        """Drop the pending timer `id`; whether there was one."""
        if self._live.pop(id, None) is None:
            return False
        stale = len(self._heap) - len(self._live)
        if stale >= _COMPACT_AT and stale > len(self._live):
            live = self._live
            self._heap[:] = [e for e in self._heap if live.get(e[2]) == e[1]]
            heapq.heapify(self._heap)
        return True

    def __len__(self) -> int:
        """The number of pending (not cancelled) timers."""
        return len(self._live) + self._beyond

    def __contains__(self, id: object) -> bool:
        """Whether a timer `id` is pending."""
        return id in self._live

    def next_due(self) -> float | None:
        """The earliest pending due instant (virtual POSIX seconds), or None."""
        heap, live = self._heap, self._live
        while heap:
            due, seq, id = heap[0]
            if live.get(id) == seq:
                return due
            heapq.heappop(heap)
        return None

    @property
    def running(self) -> bool:
        """Whether the runner task is running."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the runner task (no-op when it already runs)."""
        if self.running:
            return
        self._clock.remove_listener(self._wake.set)  # once, even after a runner that died
        self._clock.add_listener(self._wake.set)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="interop.scheduler")

    async def stop(self) -> None:
        """Cancel the runner task and wait for it to end; idempotent."""
        task, self._task = self._task, None
        self._clock.remove_listener(self._wake.set)
        if task is None or task.done():
            return
        task.cancel()
        if task is asyncio.current_task():  # stopped from inside `fire`
            return
        _, stuck = await asyncio.wait({task}, timeout=10)  # raises if the caller is cancelled
        if stuck:
            _log.warning("the scheduler's runner did not stop within 10 s")

    async def run_until(self, when: datetime) -> int:
        """Manual clock: fire every timer due up to `when` in order, then set the clock to `when`.

        Before each group of timers sharing a due instant the clock is set to that instant, so
        each is stamped with its own virtual time; timers that `fire` adds fire too if they fall
        due by `when`. Returns the number of timers fired.
        """
        if self._clock.mode != "manual":
            raise ValueError(f"run_until: needs a manual clock (this clock is {self._clock.mode})")
        async with self._lock:
            if when.tzinfo is None or when < self._clock.now():
                # Refused before anything fires; `set` names the field and rule.
                self._clock.set(when)
            until = when.timestamp()
            fired = 0
            while (
                (await self._refilled()) and (due := self.next_due()) is not None and due <= until
            ):
                at = datetime.fromtimestamp(due, UTC)
                if at > self._clock.now():
                    self._clock.set(at)
                batch = self._pop_through(due)
                try:
                    await self._fire_logged(batch)
                except Postponed:
                    self._take_back(batch)
                    raise
                fired += len(batch)
            self._clock.set(when)
            return fired

    async def _refilled(self) -> bool:
        await self._refill()
        return True

    def _pop_through(self, until: float, limit: int | None = None) -> list[Timer]:
        """Pop every live timer due at or before `until` (at most `limit`), in due order."""
        heap, live = self._heap, self._live
        batch: list[Timer] = []
        while heap and heap[0][0] <= until and (limit is None or len(batch) < limit):
            due, seq, id = heapq.heappop(heap)
            if live.get(id) == seq:
                del live[id]
                batch.append(Timer(due, id))
        return batch

    def _take_back(self, batch: list[Timer]) -> None:
        for timer in batch:
            if timer.id not in self._live:
                self.add(timer.due, timer.id)

    async def _fire_logged(self, batch: list[Timer]) -> None:
        """Fire `batch`, logging what fails; `Postponed` goes to the caller."""
        if not batch:
            return
        try:
            await self._fire(batch)
        except Postponed:
            raise
        except Exception:
            _log.exception("firing %d timer(s) due from %s failed", len(batch), batch[0].due)

    async def _run(self) -> None:
        """The runner: wait for the earliest due instant, then fire every timer due."""
        loop = asyncio.get_running_loop()
        clock = self._clock
        while True:
            self._wake.clear()
            await self._refill()
            due = self.next_due()
            if due is None:
                await self._wake.wait()
                continue
            wait = clock.wall_seconds_until(due)
            if wait is None:  # manual: only catch up with time someone else moved
                if due > clock.timestamp():
                    await self._wake.wait()
                    continue
                postponed = None
                async with self._lock:
                    while (due := self.next_due()) is not None and due <= clock.timestamp():
                        postponed = await self._fire_postponing(self._pop_through(due))
                        if postponed is not None:
                            break
                if postponed is not None:  # waited for without holding the lock
                    await postponed.ready()
                continue
            if wait > 0:
                timeout = loop.call_later(wait, self._wake.set)
                try:
                    await self._wake.wait()
                finally:
                    timeout.cancel()
                continue
            now = clock.timestamp()
            batch = self._pop_through(now, RUNNER_BATCH)
            scale = clock.scale
            self.lateness.extend((now - timer.due) / scale for timer in batch)
            postponed = await self._fire_postponing(batch)
            if postponed is not None:
                await postponed.ready()

    async def _fire_postponing(self, batch: list[Timer]) -> Postponed | None:
        """The runner's firing: a postponed batch is taken back (fire it once `ready`)."""
        try:
            await self._fire_logged(batch)
        except Postponed as postponed:
            self._take_back(batch)
            return postponed
        return None

    def __repr__(self) -> str:
        return f"Scheduler({len(self)} pending, next_due={self.next_due()}, {self._clock!r})"
