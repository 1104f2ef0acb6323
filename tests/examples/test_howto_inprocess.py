"""How to test a SIB's httpx code against the mocks in process: no socket, a manual clock.

The mock app sits behind `httpx.ASGITransport`; its deliveries go to your SIB's handler through
any httpx transport (here the SIB is an ASGI app too). Copy this file into your own tests.
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

from mocks.api.app import create_app
from mocks.state.service import MockService
from protocol.ebts import ebts_date
from synthetic import Synthesizer

pytestmark = pytest.mark.anyio


def your_sib(received: list[dict[str, Any]]) -> Starlette:
    """Stands for the SIB under test: it takes CJIS deliveries at POST /cjis/responses."""

    async def responses(request: Request) -> Response:
        received.append(json.loads(await request.body()))
        return Response(status_code=200)

    return Starlette(routes=[Route("/cjis/responses", responses, methods=["POST"])])


async def test_howto_submit_a_car_and_receive_the_idr_iar_in_process() -> None:
    received: list[dict[str, Any]] = []
    synth = Synthesizer(1)
    key = synth.biometric_key()
    service = MockService(
        clock="manual",
        scenario={"overrides": [{"when": {"biometric_key": key}, "outcome": {"ident": "match"}}]},
        callback="http://sib.test/cjis/responses",
        transport=httpx.ASGITransport(app=your_sib(received)),
    )
    async with service:
        cjis = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(service)), base_url="http://cjis.test"
        )
        async with cjis:
            today = service.clock.now()
            booking = synth.booking("NC0920000", doa=today.date(), prints=synth.prints(key=key))
            car = synth.car(booking, tcn=synth.tcn("NC0920000", today.date()), gmt=today)
            assert car["type2"]["doa"] == ebts_date(today.date())

            ack = await cjis.post("/cjis/submissions", json=car)
            assert ack.status_code == 202

            await cjis.post("/admin/clock/advance", json={"seconds": 4 * 3600})

    assert [m["type1"]["tot"] for m in received] == ["SRE", "IDR"]
    assert received[1]["type2"]["result"] == "match"
    assert "iar" in received[1]["type2"]
