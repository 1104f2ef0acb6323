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
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import NamedTuple

from mocks.clock import VirtualClock

__all__ = ["LATENESS_KEPT", "Scheduler", "Timer"]

LATENESS_KEPT = 100_000
"""How many of the most recent lateness samples `Scheduler.lateness` keeps."""

_log = logging.getLogger("interop.scheduler")

# Rebuild the heap without cancelled entries once they are this many and outnumber live ones.
_COMPACT_AT = 1024


class Timer(NamedTuple):
    """A timer that fell due: its virtual due instant (POSIX seconds) and the caller's id."""

    due: float
    id: str


class Scheduler:
    """Pending timers on a `VirtualClock`, fired in due order through `fire(batch)`.

    `lateness` holds, for the last `LATENESS_KEPT` timers fired by the runner (realtime/scaled),
    the wall seconds between each timer's wall deadline and when it was handed to `fire`.
    """

    def __init__(self, clock: VirtualClock, fire: Callable[[list[Timer]], Awaitable[None]]) -> None:
        """A scheduler on `clock` that awaits `fire(batch)` for each batch of due timers."""
        self._clock = clock
        self._fire = fire
        self._heap: list[tuple[float, int, str]] = []
        # id -> seq of its live heap entry; an entry whose seq differs is cancelled or replaced.
        self._live: dict[str, int] = {}
        self._seq = itertools.count()
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
        if isinstance(due, bool) or not isinstance(due, int | float) or not math.isfinite(due):
            raise ValueError(f"due: must be a finite number of POSIX seconds (got {due!r})")
        seq = next(self._seq)
        entry = (float(due), seq, id)
        self._live[id] = seq
        heapq.heappush(self._heap, entry)
        if self._heap[0] is entry:
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
        return len(self._live)

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
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the caller of stop() is itself being cancelled

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
            while (due := self.next_due()) is not None and due <= until:
                at = datetime.fromtimestamp(due, UTC)
                if at > self._clock.now():
                    self._clock.set(at)
                batch = self._pop_through(due)
                fired += len(batch)
                await self._fire_logged(batch)
            self._clock.set(when)
            return fired

    def _pop_through(self, until: float) -> list[Timer]:
        """Pop every live timer due at or before `until`, in due order."""
        heap, live = self._heap, self._live
        batch: list[Timer] = []
        while heap and heap[0][0] <= until:
            due, seq, id = heapq.heappop(heap)
            if live.get(id) == seq:
                del live[id]
                batch.append(Timer(due, id))
        return batch

    async def _fire_logged(self, batch: list[Timer]) -> None:
        if not batch:
            return
        try:
            await self._fire(batch)
        except Exception:
            _log.exception("firing %d timer(s) due from %s failed", len(batch), batch[0].due)

    async def _run(self) -> None:
        """The runner: wait for the earliest due instant, then fire every timer due."""
        loop = asyncio.get_running_loop()
        clock = self._clock
        while True:
            self._wake.clear()
            due = self.next_due()
            if due is None:
                await self._wake.wait()
                continue
            wait = clock.wall_seconds_until(due)
            if wait is None:  # manual: only catch up with time someone else moved
                if due > clock.timestamp():
                    await self._wake.wait()
                    continue
                async with self._lock:
                    while (due := self.next_due()) is not None and due <= clock.timestamp():
                        await self._fire_logged(self._pop_through(due))
                continue
            if wait > 0:
                timeout = loop.call_later(wait, self._wake.set)
                try:
                    await self._wake.wait()
                finally:
                    timeout.cancel()
                continue
            now = clock.timestamp()
            batch = self._pop_through(now)
            scale = clock.scale
            self.lateness.extend((now - timer.due) / scale for timer in batch)
            await self._fire_logged(batch)

    def __repr__(self) -> str:
        return f"Scheduler({len(self)} pending, next_due={self.next_due()}, {self._clock!r})"
