"""Deliveries to the SIB's callback: retried with back-off, in order per submission, idempotent by
message id (each carries `X-Interop-Message-Id`), and settled in the ledger."""

from __future__ import annotations

import asyncio
import logging
import zlib
from typing import NamedTuple

import httpx

from .ledger import Ledger, delivery_result_op

__all__ = ["Courier", "Delivery"]

_log = logging.getLogger("interop.courier")
_RETRY_STATUS = frozenset({408, 425, 429})


class Delivery(NamedTuple):
    """One message owed to the SIB."""

    message_id: str
    body: str
    target: str
    virtual_time: str
    tot: str | None
    order_key: str
    copies: int = 1


class Courier:
    """Delivers messages with a few workers; one submission's messages go through one worker."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        workers: int = 8,
        attempts: int = 8,
        backoff: float = 0.05,
        max_backoff: float = 2.0,
        timeout: float = 10.0,
    ) -> None:
        self._ledger = ledger
        self._transport = transport
        self._timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._queues: list[asyncio.Queue[Delivery]] = [asyncio.Queue() for _ in range(workers)]
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self._outstanding = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.delivered = 0
        self.failed = 0

    async def start(self) -> None:
        """Start the workers."""
        if self._tasks:
            return
        self._client = httpx.AsyncClient(transport=self._transport, timeout=self._timeout)
        self._tasks = [
            asyncio.create_task(self._work(q), name=f"interop.courier.{i}")
            for i, q in enumerate(self._queues)
        ]

    async def stop(self) -> None:
        """Stop the workers; undelivered messages stay pending in the ledger."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for queue in self._queues:
            while not queue.empty():
                queue.get_nowait()
        self._outstanding = 0
        self._idle.set()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def send(self, delivery: Delivery) -> None:
        """Queue a delivery (already ledgered as pending)."""
        self._outstanding += 1
        self._idle.clear()
        shard = zlib.crc32(delivery.order_key.encode()) % len(self._queues)
        self._queues[shard].put_nowait(delivery)

    @property
    def outstanding(self) -> int:
        """Deliveries queued or in flight."""
        return self._outstanding

    async def idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or in flight; False if `timeout` ran out first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _work(self, queue: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await queue.get()
            try:
                await self._deliver(delivery)
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("delivery of %s failed unexpectedly", delivery.message_id)
            finally:
                self._outstanding -= 1
                if self._outstanding <= 0:
                    self._outstanding = 0
                    self._idle.set()

    async def _post(self, delivery: Delivery) -> tuple[bool, str | None]:
        assert self._client is not None
        headers = {
            "content-type": "application/json",
            "x-interop-message-id": delivery.message_id,
            "x-interop-virtual-time": delivery.virtual_time,
        }
        if delivery.tot:
            headers["x-interop-tot"] = delivery.tot
        if delivery.target.startswith("mailto:"):  # the EBTS wire: deliveries by e-mail
            from .smtp import send_delivery

            del headers["content-type"]
            return await send_delivery(delivery.target, delivery.body, headers, delivery.message_id)
        try:
            response = await self._client.post(
                delivery.target, content=delivery.body.encode(), headers=headers
            )
        except httpx.HTTPError as exc:
            return False, f"{type(exc).__name__}: {exc}"[:300]
        status = response.status_code
        if status >= 500 or status in _RETRY_STATUS:
            return False, f"HTTP {status}"
        return True, None if status < 300 else f"HTTP {status}"

    async def _deliver(self, delivery: Delivery) -> None:
        error: str | None = None
        for attempt in range(1, self.attempts + 1):
            done, error = await self._post(delivery)
            if done:
                for _ in range(delivery.copies - 1):
                    await self._post(delivery)
                self.delivered += 1
                await self._ledger.write(
                    delivery_result_op(
                        message_id=delivery.message_id,
                        state="delivered",
                        attempts=attempt,
                        error=error,
                    )
                )
                return
            if attempt < self.attempts:
                await asyncio.sleep(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
        self.failed += 1
        _log.warning("gave up delivering %s: %s", delivery.message_id, error)
        await self._ledger.write(
            delivery_result_op(
                message_id=delivery.message_id, state="failed", attempts=self.attempts, error=error
            )
        )
