"""Correct designs other than the reference: store-and-forward switches as real vendors build
them. Each must pass every check under every profile; a failure is a false alarm of the suite."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import JSONResponse, Response

from mocks.timing.backoff import Backoff

from ..reference import ReferenceSib
from ..store import Transaction

__all__ = [
    "AsyncForwarding",
    "AsyncRouting",
    "BackgroundRetry",
    "BatchedForwarding",
    "ForwardsOutOfState",
    "NoAckOnInboxOutage",
    "OutOfOrderPool",
    "RoutesNothingWhenOff",
    "StoreAndForward",
]


class AsyncForwarding(ReferenceSib):
    """Answers the booking 202 at once and forwards the CAR/CPI from a queue a moment later."""

    name = "async-forwarding"

    async def forward(self, message: dict[str, Any]) -> Response:
        async def soon() -> None:
            await asyncio.sleep(0.02)
            await self._forward_until_taken(message)

        self.later(soon())
        return JSONResponse({"tcn": message["type1"]["tcn"], "status": "queued"}, 202)

    async def _forward_until_taken(self, message: dict[str, Any]) -> None:
        await self.send_to_cjis(message, attempts=None)


class BackgroundRetry(AsyncForwarding):
    """Answers "queued" during a CJIS outage and resends the same TCN after 1 s, 2 s, 4 s...
    (capped exponential back-off, seconds-scale, never giving up)."""

    name = "background-retry"
    forward_backoff = Backoff(1.0, 2.0, 30.0)


class AsyncRouting(ReferenceSib):
    """Acknowledges a CJIS delivery at once and routes it from a queue a moment later."""

    name = "async-routing"

    async def take(
        self, tx: Transaction, message: dict[str, Any], raw: bytes, message_id: str
    ) -> Response:
        async def soon() -> None:
            await asyncio.sleep(0.03)
            await ReferenceSib.take(self, tx, message, raw, message_id)

        self.later(soon())
        return JSONResponse({"status": "queued"}, 202)


class StoreAndForward(AsyncRouting, BackgroundRetry):
    """Queues everything: bookings, CJIS retries with seconds-scale back-off, and routing."""

    name = "store-and-forward"


class ForwardsOutOfState(ReferenceSib):
    """Forwards bookings from any state's ORI and lets CJIS judge them (the reference refuses
    ORIs outside its state)."""

    name = "forwards-out-of-state"

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        return [e for e in super().booking_problems(booking) if e["rule"] != "state"]


class RoutesNothingWhenOff(ReferenceSib):
    """Without message routing relays nothing at all, the plain SRE included (the reference
    relays the plain SRE and ERRT, IAFIS answers that reach LEAs as before, SOP 2.1.3)."""

    name = "routes-nothing-when-off"
    demo_profile = "routing-off"

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        return super().route_to(tx, message) if self.profile["message_routing"] else []


class NoAckOnInboxOutage(ReferenceSib):
    """Keeps nothing itself: when an LEA inbox fails it answers CJIS 503, so CJIS delivers again."""

    name = "no-ack-on-inbox-outage"

    async def take(
        self, tx: Transaction, message: dict[str, Any], raw: bytes, message_id: str
    ) -> Response:
        self.store.saw(tx, message["type1"]["tot"])
        if message["type1"]["tot"] == "SRE":
            self.learn(tx, message)
        if message["type1"]["tot"] == "ERRT":
            await self.after_errt(tx, message)
        for ori in self.route_to(tx, message):
            owed = self.store.owe(ori, message_id, raw)
            if not await self._route_once(owed):
                self.store.attempted(owed, done=True)
                self.store.forget(message_id)
                return JSONResponse({"status": "inbox down"}, 503)
        return JSONResponse({"status": "taken"})


class BatchedForwarding(AsyncForwarding):
    """Collects the bookings that arrive within a short window and forwards them as one batch
    (well inside the `forward` budget, also at the self-test's budget factor)."""

    name = "batched-forwarding"
    window = 0.2
    """Seconds a batch stays open after its first booking."""

    async def forward(self, message: dict[str, Any]) -> Response:
        batch: list[dict[str, Any]] = self.__dict__.setdefault("batch", [])
        batch.append(message)
        if len(batch) == 1:
            self.later(self._send_batch())
        return JSONResponse({"tcn": message["type1"]["tcn"], "status": "queued"}, 202)

    async def _send_batch(self) -> None:
        await asyncio.sleep(self.window)
        batch: list[dict[str, Any]] = self.__dict__.pop("batch", [])
        await asyncio.gather(*(self._forward_until_taken(m) for m in batch))


class OutOfOrderPool(AsyncForwarding):
    """Forwards from a pool of workers that take the newest booking first: submissions reach
    CJIS out of the order the bookings came in."""

    name = "out-of-order-pool"
    workers = 3
    pause = 0.05
    """Seconds each worker waits before it takes the next booking (the newest)."""

    async def forward(self, message: dict[str, Any]) -> Response:
        queue: asyncio.LifoQueue[dict[str, Any]] | None = self.__dict__.get("queue")
        if queue is None:
            queue = self.__dict__["queue"] = asyncio.LifoQueue()
            for _ in range(self.workers):
                self.later(self._worker(queue))
        queue.put_nowait(message)
        return JSONResponse({"tcn": message["type1"]["tcn"], "status": "queued"}, 202)

    async def _worker(self, queue: asyncio.LifoQueue[dict[str, Any]]) -> None:
        while True:
            await asyncio.sleep(self.pause)
            await self._forward_until_taken(await queue.get())
