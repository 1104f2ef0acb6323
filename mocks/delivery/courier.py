"""Deliveries to the SIB's callback: nothing lost, ever.

Every delivery owed is a row in the ledger (`deliveries`) before anyone is told of it; the courier
pages the rows that are due out of the ledger, a bounded number at a time, and posts them. A
delivery the SIB does not take (a connection error, a 5xx, 408, 425 or 429) is tried again after the
one capped exponential back-off (`mocks.timing.backoff.Backoff`), for as long as it takes: its
attempts and the wall time of its next attempt are written to the ledger after each try, so a
restarted mock resumes where it stopped. Only the deliveries being posted are held in memory. Any
other 4xx is the SIB refusing that message for good: it is settled, its `last_error` naming the
status.

A full disk is an outage, not a storm: while the ledger cannot write (`Ledger.writable`) the
courier posts nothing, since it could not record what was taken; it waits for the ledger's probes
(on the shared back-off) to find room. A delivery taken just as the disk filled is held in memory as
delivered and recorded first once the ledger writes again (`recorded_late` counts them), so it is
not sent again; only a mock stopped before then sends it once more (the SIB de-duplicates it by
its message id).

Each delivery carries `X-Interop-Message-Id` (a SIB de-duplicates by it), `X-Interop-Virtual-Time`
and `X-Interop-Tot`. The deliveries of one submission go in the order they were owed: a later one
waits while an earlier one is being retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable

import httpx

from wire.codec import as_sent

from ..storage.ledger import Ledger, NotWritable
from ..storage.records import Op, OwedRow, delivery_result_op
from ..timing.backoff import Backoff
from .client import Outbound
from .mailer import send_delivery

EBTS_HTTP = "ebts+"
"""A callback ``ebts+http(s)://…`` takes the deliveries as EBTS files (`application/x-ansi-nist`)
POSTed to ``http(s)://…``: the SUT profile's ``wire.deliveries: ebts-http``."""

__all__ = ["EBTS_HTTP", "Courier"]

_log = logging.getLogger("interop.courier")
_RETRY_STATUS = frozenset({408, 425, 429})
_STOP_WAIT = 10.0
"""Wall seconds `stop` waits for the courier's tasks to end."""
_LOOK = 0.1
"""Wall seconds between two looks at whether the ledger still writes, while waiting on attempts."""
_IDLE_POLL = 1.0
"""Longest wall wait between two looks at the ledger when nothing wakes the courier."""


class Courier:
    """Posts what the ledger says is owed, `workers` at a time, until each is taken."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        target: Callable[[], str | None] = lambda: None,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: Backoff | None = None,
        workers: int = 32,
        timeout: float = 10.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """`target()` names the callback for deliveries owed before one was known."""
        self._ledger = ledger
        self._target = target
        self._transport = transport
        self._timeout = timeout
        self._wall = wall
        self.backoff = backoff or Backoff()
        self.workers = workers
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._keys: set[str] = set()
        self._finished: set[str] = set()  # settled since the pump last looked at the ledger
        self._waiters: dict[str, asyncio.Future[bool]] = {}
        self._expected: dict[str, asyncio.Future[bool]] = {}
        """Deliveries waited on since before they were written (`expect`), for `attempted`."""
        self._retries_later = True
        """Whether a delivery may be owed with its next attempt in the future: one this courier
        put off, or (at the start) one a previous run put off. Only then is the ledger asked
        when the next falls due."""
        self._failing = False
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._client: Outbound | None = None
        self._unrecorded: dict[str, Op] = {}
        self.delivered = 0
        self.retried = 0
        self.recorded_late = 0
        """Deliveries taken while the ledger could not record it, recorded once it could."""

    async def start(self) -> None:
        """Start paging owed deliveries out of the ledger (those left by a previous run too)."""
        if self._pump is not None:
            return
        self._client = Outbound(
            transport=self._transport, timeout=self._timeout, connections=self.workers
        )
        self._pump = asyncio.create_task(self._run(), name="interop.courier")

    async def stop(self) -> None:
        """Stop; what is not yet taken stays owed in the ledger for the next start."""
        pump, self._pump = self._pump, None
        tasks = [t for t in (pump, *self._inflight.values()) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=_STOP_WAIT)
            if stuck:
                _log.warning(
                    "%d delivery task(s) did not stop; what they owe stays owed", len(stuck)
                )
        self._inflight.clear()
        self._keys.clear()
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_result(False)
        self._waiters.clear()
        self._expected.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def kick(self) -> None:
        """Look at the ledger now: deliveries were just owed (or a callback became known)."""
        self._wake.set()

    @property
    def unrecorded(self) -> int:
        """Deliveries taken by the SIB that the ledger could not record yet (still owed there)."""
        return len(self._unrecorded)

    @property
    def outstanding(self) -> int:
        """Deliveries being posted right now."""
        return len(self._inflight)

    def expect(self, ids: Iterable[str]) -> None:
        """Deliveries about to be owed (before they are written): an `attempted` on them then
        learns of their first attempt without asking the ledger whether one came before it."""
        loop = asyncio.get_running_loop()
        for i in ids:
            self._expected[i] = self._waiters.setdefault(i, loop.create_future())

    def unexpect(self, ids: Iterable[str]) -> None:
        """Deliveries `expect`ed that were not owed after all (their write failed)."""
        for i in ids:
            if self._expected.pop(i, None) is not None:
                self._waiters.pop(i, None)

    async def attempted(self, ids: Iterable[str], timeout: float) -> bool:
        """Wait until each delivery in `ids` was tried once; True when all were taken.

        Returns early (False) once any delivery is refused, since the SIB is then failing and
        waiting on it would only hold the clock; and at once while deliveries are being retried
        or the ledger cannot record (nothing is posted then).
        """
        ids = list(ids)
        expected = {i: f for i in ids if (f := self._expected.pop(i, None)) is not None}
        if self._failing or self._pump is None or not self._ledger.writable:
            return False
        loop = asyncio.get_running_loop()
        waiters = self._waiters
        futures = [expected.get(i) or waiters.setdefault(i, loop.create_future()) for i in ids]
        if not futures:
            return True
        unexpected = [i for i in ids if i not in expected]
        if unexpected:  # tried, perhaps, before this waiter was there
            for tried in await self._ledger.tried(unexpected):
                self._tried(tried[0], tried[1])
        self.kick()
        pending = set(futures)
        deadline = loop.time() + timeout
        while pending:
            left = deadline - loop.time()
            done, pending = await asyncio.wait(
                pending, timeout=max(0.0, min(left, _LOOK)), return_when="FIRST_COMPLETED"
            )
            if any(not f.result() for f in done) or not self._ledger.writable:
                return False  # refused, or nothing more is posted until the ledger writes
            if not done and left <= _LOOK:
                return False
        return True

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            if not await self._recording():
                continue
            try:
                started = await self._dispatch()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("reading the deliveries owed failed; trying again")
                started = 0
            if started:
                continue
            wait = _IDLE_POLL
            if self._retries_later:
                self._retries_later = False  # a retry put off during the look sets it again
                now = self._wall()
                try:
                    due = await self._ledger.next_delivery_due(now)
                except Exception:  # the ledger could not say: ask it again at the next look
                    due = now + wait
                if due is not None:
                    self._retries_later = True
                    wait = min(wait, max(0.001, due - now))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _recording(self) -> bool:
        """Whether the ledger records: the results it could not record written first. While it
        cannot, wait (up to the idle poll) for its probes to find room, and say no."""
        ledger = self._ledger
        if not ledger.writable:
            await ledger.writable_again(_IDLE_POLL)
            return False
        if not self._unrecorded:
            return True
        held = dict(self._unrecorded)
        try:
            await ledger.write(*held.values())
        except NotWritable:
            return False
        for message_id in held:
            self._unrecorded.pop(message_id, None)
        self.recorded_late += len(held)
        return True

    async def _dispatch(self) -> int:
        """Start posting the deliveries due now; how many were started."""
        free = self.workers - len(self._inflight)
        if free <= 0:
            return 0
        self._finished.clear()
        rows = await self._ledger.due_deliveries(
            self._wall(), free + len(self._inflight), any_target=bool(self._target())
        )
        started = 0
        for row in rows:
            if started >= free:
                break
            # A delivery settled while the query ran may come back from before it settled.
            if (
                row.message_id in self._inflight
                or row.order_key in self._keys
                or row.message_id in self._finished
                or row.message_id in self._unrecorded
            ):
                continue
            self._keys.add(row.order_key)
            task = asyncio.create_task(self._attempt(row), name=f"interop.courier.{row.tot}")
            self._inflight[row.message_id] = task
            started += 1
        return started

    async def _post(self, row: OwedRow, target: str) -> tuple[bool, str | None]:
        """Post once: whether the SIB answered for good (2xx, or a 4xx refusing this message),
        and what went wrong if anything."""
        assert self._client is not None
        headers = {
            "content-type": "application/json",
            "x-interop-message-id": row.message_id,
            "x-interop-virtual-time": row.virtual_time,
        }
        if row.tot:
            headers["x-interop-tot"] = row.tot
        if target.startswith("mailto:"):  # the EBTS wire: deliveries by e-mail
            del headers["content-type"]
            return await send_delivery(target, row.body, headers, row.message_id)
        body = row.body.encode()
        if target.startswith(EBTS_HTTP):  # the EBTS wire over HTTP: the message as a file
            target = target.removeprefix(EBTS_HTTP)
            body, headers["content-type"] = as_sent(row.body)
        try:
            response = await self._client.post(target, body, headers)
        except httpx.HTTPError as exc:
            return False, f"{type(exc).__name__}: {exc}"[:300]
        status = response.status_code
        if status >= 500 or status in _RETRY_STATUS:
            return False, f"HTTP {status}"
        return True, None if status < 300 else f"HTTP {status}"

    async def _attempt(self, row: OwedRow) -> None:
        attempt = row.attempts + 1
        taken = False
        op: Op | None = None
        try:
            if not self._ledger.writable:
                return  # nothing is posted that could not be recorded; it stays owed
            target = row.target or self._target() or ""
            taken, error = await self._post(row, target)
            if taken:
                for _ in range(row.copies - 1):
                    await self._post(row, target)
                self.delivered += 1
                self._failing = False
                op = delivery_result_op(
                    message_id=row.message_id, state="delivered", attempts=attempt, error=error
                )
            else:
                self.retried += 1
                self._failing = True
                self._retries_later = True
                due = self._wall() + self.backoff.delay(attempt)
                op = delivery_result_op(
                    message_id=row.message_id,
                    state="pending",
                    attempts=attempt,
                    error=error,
                    next_due=due,
                )
                _log.info("delivery %s refused (%s), attempt %d", row.message_id, error, attempt)
            self._tried(row.message_id, taken)  # whoever waits on it goes on while it is written
            await self._ledger.write(op)
        except NotWritable:
            if taken and op is not None:
                self._unrecorded[row.message_id] = op  # recorded first once the ledger writes
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("delivery of %s failed unexpectedly; it stays owed", row.message_id)
        finally:
            self._finished.add(row.message_id)
            self._inflight.pop(row.message_id, None)
            self._keys.discard(row.order_key)
            self._tried(row.message_id, taken)
            self._wake.set()

    def _tried(self, message_id: str, taken: bool) -> None:
        """Tell whoever waits on `message_id` in `attempted` that it was tried (and taken)."""
        waiter = self._waiters.pop(message_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(taken)
