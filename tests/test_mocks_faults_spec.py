"""What the mocks say about bad input at the edges: a clock moved past its range, the methods a path
allows, a callback that is not a URI, and inputs far too long to echo."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

import schemas
from mocks.api.app import create_app
from mocks.state.service import MockService
from mocks.timing.clock import LATEST, VirtualClock
from mocks.transport.problem import EXCERPT
from tests.conftest import MockApi
from tests.test_mocks_http import _problem

pytestmark = pytest.mark.anyio


async def test_an_advance_past_the_clock_s_range_is_a_400_naming_seconds() -> None:
    start = datetime.fromisoformat("9998-06-01T00:00:00+00:00")
    async with MockService(clock=VirtualClock("manual", start=start)) as service:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://mocks.test") as client:
            answer = await client.post("/admin/clock/advance", json={"seconds": 31536000})
            problem = _problem(answer, 400)
            assert problem["errors"][0]["path"] == "$.seconds"
            assert problem["errors"][0]["rule"] == "range"
            assert "9998-12-31" in problem["detail"]
            assert (await client.get("/admin/clock")).json()["now"] == "9998-06-01T00:00:00Z"
            moved = await client.post("/admin/clock/advance", json={"seconds": 86400})
            assert moved.status_code == 200
    assert LATEST.year == 9998


async def test_options_on_an_inbox_allows_what_the_route_answers(mock_api: MockApi) -> None:
    client = await mock_api()
    answer = await client.request("OPTIONS", "/lea/NC0920000/inbox")
    assert answer.status_code == 405
    allowed = {m.strip() for m in answer.headers["allow"].split(",")}
    assert allowed == {"GET", "HEAD", "POST"}
    idr = schemas.examples("idr")[1]
    assert (await client.post("/lea/NC0920000/inbox", json=idr)).status_code == 202
    assert (await client.get("/lea/NC0920000/inbox")).status_code == 200
    assert (await client.head("/lea/NC0920000/inbox")).status_code == 200


async def test_a_callback_that_is_not_a_uri_is_refused_and_not_echoed(mock_api: MockApi) -> None:
    client = await mock_api()
    secret = "not a uri, token=s3cr3t-" + "x" * 50
    answer = await client.post("/admin/scenario", json={"sut_callback": secret})
    problem = _problem(answer, 400)
    assert {e["path"] for e in problem["errors"]} == {"$.sut_callback"}
    assert "s3cr3t" not in answer.text
    fine = await client.post("/admin/scenario", json={"sut_callback": "http://127.0.0.1:9/cb"})
    assert fine.status_code == 200


async def test_a_megabyte_of_bad_input_gets_a_short_problem(mock_api: MockApi) -> None:
    client = await mock_api()
    huge = "A" * 900_000  # under the body limit
    answers = [
        await client.post("/cjis/submissions", json={"type1": {"tcn": huge}}),
        await client.post("/ident/searches", json={"type1": {"tcn": huge}, "x": 1}),
        await client.post("/lea/NC0920000/inbox", content=b"[" + huge.encode()),
        await client.post("/admin/scenario", json={"name": huge}),
    ]
    for answer in answers:
        problem = _problem(answer, 400)
        assert len(answer.content) < 8 * EXCERPT + 2 * EXCERPT * len(problem.get("errors", []))
        assert len(problem["detail"]) <= 2 * EXCERPT + 30
