"""Faulty SIBs that mishandle CJIS outages, rejections and bad input."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import schemas

from ..store import Transaction
from ._base import Faulty

__all__ = [
    "AcceptsInvalidDelivery",
    "Answers500OnBadDelivery",
    "CrashesOnMalformed",
    "CrashesOnOddBooking",
    "GivesUpAfterTwo",
    "NoRetry",
    "NoRetryOnReset",
    "OutboxInMemory",
    "ResubmitsAfterErrt",
    "Retries400",
    "RetriesOnly503",
    "RetryWithNewTcn",
    "ShortTimeoutNewTcn",
    "TcnCounterInMemory",
]


class NoRetry(Faulty):
    """Gives up on the first CJIS outage instead of sending the same TCN again."""

    name, breaks = "no-retry", ("ROB-1",)

    def retries_outage(self, status: int | None) -> bool:
        return False


class RetriesOnly503(Faulty):
    """Retries a 503 but takes a 500 or a dropped connection as final."""

    name, breaks = "retries-only-503", ("ROB-1",)

    def retries_outage(self, status: int | None) -> bool:
        return status == 503


class NoRetryOnReset(Faulty):
    """Retries 5xx answers but not a connection CJIS reset."""

    name, breaks = "no-retry-on-reset", ("ROB-1",)

    def retries_outage(self, status: int | None) -> bool:
        return status is not None and status >= 500


class GivesUpAfterTwo(Faulty):
    """Tries CJIS twice inside the booking request, then drops the submission."""

    name, breaks = "gives-up-after-two", ("ROB-1",)
    inline_attempts = 2

    async def _forward_until_taken(self, message: dict[str, Any]) -> None:
        self.store.set_state(message["type1"]["tcn"], "abandoned")


class RetryWithNewTcn(Faulty):
    """Sends a submission CJIS did not take again under a new TCN."""

    name, breaks = "retry-with-new-tcn", ("ROB-1",)

    async def _post_submission(self, message: dict[str, Any]) -> tuple[int | None, Any]:
        status, answer = await super()._post_submission(message)
        if status != 202 and self.retries_outage(status):
            message["type1"]["tcn"] = self.next_tcn()
        return status, answer


class ShortTimeoutNewTcn(RetryWithNewTcn):
    """Waits half a second for CJIS's answer, then sends the submission again under a new TCN."""

    name, breaks = "short-timeout-new-tcn", ("ROB-1",)
    timeout = 0.5

    async def _post_submission(self, message: dict[str, Any]) -> tuple[int | None, Any]:
        status, answer = await Faulty._post_submission(self, message)
        if status is None:
            message["type1"]["tcn"] = self.next_tcn()
        return status, answer


class Retries400(Faulty):
    """Treats every answer but 202 as an outage: a 400 is sent again and again."""

    name, breaks = "retries-400", ("ROB-2",)

    def retries_outage(self, status: int | None) -> bool:
        return status != 202


class ResubmitsAfterErrt(Faulty):
    """Sends the same submission again, unchanged but for the TCN, after a permanent ERRT."""

    name, breaks = "resubmits-after-errt", ("ROB-2",)

    async def after_errt(self, tx: Transaction, errt: dict[str, Any]) -> None:
        again = copy.deepcopy(tx.body)
        again["type1"]["tcn"] = self.next_tcn()
        self.later(self._forward_until_taken(again))


class CrashesOnMalformed(Faulty):
    """Stops working after a delivery that is not JSON or breaks its schema."""

    name, breaks = "crashes-on-malformed", ("ROB-3",)
    broken = False

    def survive(self, problem: str) -> None:
        self.broken = True

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        if self.broken:
            raise RuntimeError(f"{self.name}: down since a malformed delivery")
        return super().booking_problems(booking)


class AcceptsInvalidDelivery(Faulty):
    """Acknowledges a delivery that breaks its schema (so CJIS stops sending it) and drops it."""

    name, breaks = "accepts-invalid-delivery", ("ROB-3",)

    async def _responses(self, request: Request) -> Response:
        raw = await request.body()
        try:
            message = json.loads(raw)
        except ValueError:
            return await super()._responses(request)
        if schemas.problems("delivery", message):
            return JSONResponse({"status": "ignored"})
        return await super()._responses(request)


class Answers500OnBadDelivery(Faulty):
    """Answers 500 to a delivery that is not JSON (an unhandled parse error)."""

    name, breaks = "answers-500-on-bad-delivery", ("ROB-3",)
    # By e-mail a delivery that is not JSON is an unreadable EBTS file, which the stage's mail
    # adapter refuses (554) before any JSON reaches this SIB.
    only_on = ("json-http",)

    def survive(self, problem: str) -> None:
        if problem == "not JSON":
            raise ValueError("unhandled: the delivery is not JSON")


class CrashesOnOddBooking(Faulty):
    """Answers 500 to a valid booking with aliases (an unhandled case)."""

    name, breaks = "crashes-on-odd-booking", ("ROB-4",)

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        person = booking.get("person") if isinstance(booking, dict) else None
        if isinstance(person, dict) and person.get("aka"):
            raise KeyError("aka")
        return super().booking_problems(booking)


class TcnCounterInMemory(Faulty):
    """Counts TCNs in memory: after a restart it hands out the same TCNs again."""

    name, breaks = "tcn-counter-in-memory", ("ROB-5",)
    count = 0

    def next_tcn(self) -> str:
        self.count += 1
        return f"{self.profile['sib_ori']}-{self.store.run}-{self.count:08d}"


class OutboxInMemory(Faulty):
    """Retries an LEA inbox from memory only: what it owed when restarted is lost."""

    name, breaks = "outbox-in-memory", ("ROB-5",)

    async def route(self, ori: str, body: bytes, message_id: str) -> None:
        owed = self.store.attempted(self.store.owe(ori, message_id, body), done=True)

        async def retry() -> None:
            for attempt in range(1, 10**6):
                if await self._route_once(owed):
                    return
                await asyncio.sleep(self.route_backoff.delay(attempt))

        self.later(retry())
