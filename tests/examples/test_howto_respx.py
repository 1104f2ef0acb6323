"""How a vendor tests a SIB's httpx code against the mocks with respx: no socket, a manual clock.

Your code keeps the CJIS base URL it is configured with; the `cjis_mocks` fixture (from the
`mocks.servers.inprocess` plugin) mounts the mock CJIS there under respx and delivers the responses
to your SIB app. Copy this file and `pytest_plugins = ["mocks.servers.inprocess"]` into your own
tests; override `cjis_base_url`, `sib_callback_url`, `sib_app` and `cjis_scenario` to fit.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mocks.state.service import MockService
from synthetic import Synthesizer

pytest_plugins = ["mocks.servers.inprocess"]
pytestmark = pytest.mark.anyio

SYNTH = Synthesizer(6)
KEY = SYNTH.biometric_key()
RECEIVED: list[dict[str, Any]] = []


class YourSibClient:
    """Stands for the SIB's outbound code: it forwards a booking's CAR to CJIS with httpx."""

    def __init__(self, cjis_base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=cjis_base_url)

    async def forward(self, car: dict[str, Any]) -> dict[str, Any]:
        answer = await self.http.post("/cjis/submissions", json=car)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result


async def _responses(request: Request) -> Response:
    RECEIVED.append(json.loads(await request.body()))
    return Response(status_code=200)


@pytest.fixture
def sib_app() -> Starlette:
    """Your SIB's inbound side: it takes CJIS deliveries at POST /cjis/responses."""
    RECEIVED.clear()
    return Starlette(routes=[Route("/cjis/responses", _responses, methods=["POST"])])


@pytest.fixture
def cjis_scenario() -> dict[str, Any]:
    return {"overrides": [{"when": {"biometric_key": KEY}, "outcome": {"ident": "match"}}]}


async def test_howto_forward_a_car_and_take_the_idr_iar_through_respx(
    cjis_mocks: MockService, cjis_base_url: str
) -> None:
    today = cjis_mocks.clock.now()
    booking = SYNTH.booking("NC0920000", doa=today.date(), prints=SYNTH.prints(key=KEY))
    car = SYNTH.car(booking, tcn=SYNTH.tcn("NC0920000", today.date()), gmt=today)

    sib = YourSibClient(cjis_base_url)
    ack = await sib.forward(car)
    assert ack["status"] == "accepted"

    admin = httpx.AsyncClient(base_url=cjis_base_url)
    advanced = await admin.post("/admin/clock/advance", json={"seconds": 4 * 3600})
    assert advanced.json()["settled"] is True

    assert [m["type1"]["tot"] for m in RECEIVED] == ["SRE", "IDR"]
    assert RECEIVED[1]["type2"]["result"] == "match"
    assert "iar" in RECEIVED[1]["type2"]
    await sib.http.aclose()
    await admin.aclose()
