"""Fixtures for the mocks' tests: a recording SIB callback and the mock app in process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from typing import Any

import httpx
import pytest
import respx

import schemas
from mocks.api.app import create_app
from mocks.state.service import MockService
from mocks.timing.clock import VirtualClock
from protocol.ebts import ebts_date
from synthetic import Synthesizer

CALLBACK = "http://sib.test/cjis/responses"
START = "2026-11-23T09:00:00+00:00"
"""The one instant the mocks' tests start their clocks at and date their bookings from: a test
never depends on the day it runs (`tox -e timeshift` runs the clocked tests on other days)."""


def manual_clock() -> VirtualClock:
    """A manual clock at `START`, the day `booking_car` arrests people on by default."""
    return VirtualClock("manual", start=datetime.fromisoformat(START))


class RecordingSib:
    """Stands in for a SIB's POST /cjis/responses: records deliveries, answers as told."""

    def __init__(self) -> None:
        self.deliveries: list[httpx.Request] = []
        self.answers: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.deliveries.append(request)
        status = self.answers.pop(0) if self.answers else 200
        return httpx.Response(status)

    def messages(self) -> list[dict[str, Any]]:
        """Every delivered body that is JSON, in order."""
        out = []
        for request in self.deliveries:
            try:
                out.append(json.loads(request.content))
            except ValueError:
                continue
        return out

    def kinds(self) -> list[str]:
        """What each delivery was, in order: SRE, SRE+ident, IDR, IDR/IAR, IAR, ERRT, raw."""
        found = []
        for request in self.deliveries:
            try:
                body = json.loads(request.content)
            except ValueError:
                found.append("raw")
                continue
            tot = body.get("type1", {}).get("tot")
            type2 = body.get("type2", {})
            if tot == "IDR" and "iar" in type2:
                tot = "IDR/IAR"
            if tot == "SRE" and "ident" in type2:
                tot = "SRE+ident/IAR" if "iar" in type2["ident"] else "SRE+ident"
            found.append(str(tot))
        return found


def sib_transport(sib: RecordingSib) -> httpx.AsyncBaseTransport:
    """A respx router standing for the SIB: `POST {CALLBACK}` answered by `sib`, anything else
    refused (respx raises on a request no route matches)."""
    router = respx.MockRouter(assert_all_called=False)
    router.post(CALLBACK).mock(side_effect=sib)
    return httpx.MockTransport(router.async_handler)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sib() -> RecordingSib:
    return RecordingSib()


MockApi = Callable[..., Any]


@pytest.fixture
async def mock_api(sib: RecordingSib) -> AsyncIterator[MockApi]:
    """Start a mock service with a scenario; yields an httpx client bound to its app."""
    started: list[tuple[MockService, httpx.AsyncClient]] = []

    async def start(scenario: dict[str, Any] | None = None, **options: Any) -> httpx.AsyncClient:
        service = MockService(
            clock=manual_clock(),
            scenario=scenario or {},
            callback=CALLBACK,
            transport=sib_transport(sib),
            **options,
        )
        await service.start()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(service)), base_url="http://mocks.test"
        )
        client.service = service  # type: ignore[attr-defined]
        started.append((service, client))
        return client

    yield start
    for service, client in started:
        await client.aclose()
        await service.stop()


@pytest.fixture
def synth() -> Synthesizer:
    return Synthesizer(42)


def booking_car(
    synth: Synthesizer,
    *,
    ori: str = "NC0920000",
    arrested: date | None = None,
    key: str | None = None,
    charges: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A valid CAR for a fresh synthetic person booked by `ori`, arrested on `START`'s day unless
    told otherwise."""
    if arrested is None:
        arrested = datetime.fromisoformat(START).date()
    prints = synth.prints("rolled-ten-print", key=key) if key else None
    booking = synth.booking(ori, doa=arrested, prints=prints, charges=charges)
    car = synth.car(booking, tcn=synth.tcn(ori, arrested), gmt=datetime.fromisoformat(START))
    schemas.validate("car", car)
    assert car["type2"]["doa"] == ebts_date(arrested)
    return car
