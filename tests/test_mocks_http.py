"""The mocks' HTTP surface: bad input, inboxes, admin API, OpenAPI, restart on the same ledger."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import schemas
from mocks.api.app import create_app
from mocks.api.openapi import openapi
from mocks.state.service import MockService
from mocks.timing.clock import VirtualClock
from mocks.transport.bodies import SUBMISSION_LIMIT
from synthetic import Synthesizer
from tests.conftest import (
    CALLBACK,
    MockApi,
    RecordingSib,
    booking_car,
    manual_clock,
    sib_transport,
)

pytestmark = pytest.mark.anyio


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert schemas.problems("api.json#/$defs/problem", body) == []
    return body


async def test_body_that_is_not_json_is_a_400_naming_the_rule(mock_api: MockApi) -> None:
    client = await mock_api()
    body = _problem(await client.post("/cjis/submissions", content=b"{not json"), 400)
    assert body["errors"] == [
        {"path": "$", "rule": "json", "message": body["errors"][0]["message"]}
    ]


async def test_oversized_body_is_a_413(mock_api: MockApi) -> None:
    client = await mock_api()
    big = b'{"x": "' + b"a" * SUBMISSION_LIMIT + b'"}'
    _problem(await client.post("/cjis/submissions", content=big), 413)


@pytest.mark.parametrize(
    ("body", "rule"),
    [({}, "required"), ({"type1": {"tcn": "short"}}, "pattern"), ([], "required"), (7, "required")],
)
async def test_submission_without_a_usable_tcn_is_a_400_naming_it(
    mock_api: MockApi, body: object, rule: str
) -> None:
    client = await mock_api()
    problem = _problem(await client.post("/cjis/submissions", json=body), 400)
    assert problem["errors"][0]["path"] == "$.type1.tcn"
    assert problem["errors"][0]["rule"] == rule


async def test_lea_inbox_records_what_the_sib_routes(mock_api: MockApi) -> None:
    client = await mock_api()
    idr = schemas.examples("idr")[1]
    posted = await client.post(
        "/lea/NC0920000/inbox", json=idr, headers={"x-interop-message-id": "m-1"}
    )
    assert posted.status_code == 202
    inbox = (await client.get("/lea/NC0920000/inbox")).json()
    assert schemas.problems("api.json#/$defs/inbox", inbox) == []
    assert [m["message"] for m in inbox["messages"]] == [idr]
    assert (await client.get("/lea/NC0410000/inbox")).json() == {"messages": [], "next": None}
    entries = (await client.get("/admin/ledger", params={"ori": "NC0920000"})).json()["entries"]
    assert [e["channel"] for e in entries] == ["lea:NC0920000"]


async def test_lea_inbox_with_a_bad_ori_is_a_400(mock_api: MockApi) -> None:
    client = await mock_api()
    problem = _problem(await client.get("/lea/nc09/inbox"), 400)
    assert problem["errors"][0]["path"] == "$.ori"
    # The POST, taken past the router (a hot path), refuses it the same way.
    problem = _problem(await client.post("/lea/nc09/inbox", json={}), 400)
    assert problem["errors"][0]["path"] == "$.ori"
    _problem(await client.post("/lea//inbox", json={}), 404)
    refused = await client.request("DELETE", "/lea/NC0920000/inbox")
    _problem(refused, 405)
    assert {m.strip() for m in refused.headers["allow"].split(",")} >= {"GET", "POST"}


async def test_unknown_path_and_method_are_problems(mock_api: MockApi) -> None:
    client = await mock_api()
    _problem(await client.get("/nowhere"), 404)
    _problem(await client.get("/cjis/submissions"), 405)


async def test_clock_and_advance(mock_api: MockApi) -> None:
    client = await mock_api()
    clock = (await client.get("/admin/clock")).json()
    assert schemas.problems("api.json#/$defs/clock", clock) == []
    assert clock == {"mode": "manual", "scale": 1.0, "now": "2026-11-23T09:00:00Z"}
    advanced = (await client.post("/admin/clock/advance", json={"seconds": 90})).json()
    assert schemas.problems("api.json#/$defs/advanced", advanced) == []
    assert advanced["now"] == "2026-11-23T09:01:30Z"
    bad = _problem(await client.post("/admin/clock/advance", json={"seconds": -1}), 400)
    assert bad["errors"][0]["path"] == "$.seconds"


async def test_advance_on_a_scaled_clock_is_a_409(sib: RecordingSib) -> None:
    service = MockService(clock=VirtualClock("scaled", scale=60), callback=CALLBACK)
    async with service:
        app = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=app, base_url="http://mocks.test") as client:
            _problem(await client.post("/admin/clock/advance", json={"seconds": 1}), 409)


async def test_scenario_is_validated_replaced_and_read_back(mock_api: MockApi) -> None:
    client = await mock_api()
    bad = _problem(await client.post("/admin/scenario", json={"late_iar": "keep"}), 400)
    assert bad["errors"][0]["path"] == "$.late_iar"
    assert bad["errors"][0]["rule"] == "enum"
    posted = await client.post(
        "/admin/scenario", json={"name": "quiet", "ident": {"match_rate": 0}}
    )
    assert posted.status_code == 200
    now = (await client.get("/admin/scenario")).json()
    assert now["name"] == "quiet"
    assert now["ident"] == {"match_rate": 0}
    assert schemas.problems("scenario", now) == []


async def test_reset_forgets_messages_and_timers(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    client = await mock_api()
    await client.post("/cjis/submissions", json=booking_car(synth))
    assert (await client.post("/admin/reset")).status_code == 204
    await client.post("/admin/clock/advance", json={"seconds": 86400})
    assert sib.deliveries == []
    health = (await client.get("/health")).json()
    assert schemas.problems("api.json#/$defs/health", health) == []
    assert health["ledger"]["messages"] == 0


async def test_admin_token_is_required_when_set(mock_api: MockApi) -> None:
    client = await mock_api(admin_token="s3cret")
    _problem(await client.get("/admin/clock"), 401)
    _problem(await client.get("/admin/clock", headers={"authorization": "Bearer nope"}), 401)
    ok = await client.get("/admin/clock", headers={"authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    assert (await client.get("/health")).status_code == 200


async def test_direct_ident_search_and_lesc_query(mock_api: MockApi, synth: Synthesizer) -> None:
    key = synth.biometric_key()
    client = await mock_api(
        {"overrides": [{"when": {"biometric_key": key}, "outcome": {"ident": "match"}}]}
    )
    car = booking_car(synth, key=key)
    found = (await client.post("/ident/searches", json=car)).json()
    assert schemas.problems("idr.json#/$defs/response", found) == []
    assert found["result"] == "match"
    iaq = schemas.examples("iaq")[0]
    determination = (await client.post("/lesc/iaq", json=iaq)).json()
    assert schemas.problems("iar.json#/$defs/determination", determination) == []
    problem = _problem(await client.post("/lesc/iaq", json={"type1": {}}), 400)
    assert any(e["path"] == "$.type2" for e in problem["errors"])


async def test_openapi_is_3_1_and_its_components_are_the_schemas(mock_api: MockApi) -> None:
    client = await mock_api()
    document = (await client.get("/openapi.json")).json()
    assert document == json.loads(json.dumps(openapi()))
    assert document["openapi"] == "3.1.0"
    assert set(document["components"]["schemas"]) == set(schemas.NAMES)
    text = json.dumps(document)
    assert ".json#" not in text
    assert "$id" not in text


async def test_restart_on_the_same_ledger_delivers_what_is_owed_once(
    tmp_path: Path, sib: RecordingSib, synth: Synthesizer
) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    key = synth.biometric_key()
    scenario = {"overrides": [{"when": {"biometric_key": key}, "outcome": {"ident": "match"}}]}

    def service() -> MockService:
        return MockService(
            clock=manual_clock(),
            scenario=scenario,
            ledger=ledger,
            callback=CALLBACK,
            transport=sib_transport(sib),
        )

    first = service()
    async with first:
        await first.submit(booking_car(synth, key=key))
        await first.advance(180)
    assert sib.kinds() == ["SRE"]
    second = service()
    async with second:
        assert len(second.scheduler) == 5
        await second.advance(5 * 3600)
    assert sib.kinds() == ["SRE", "IDR/IAR"]
    third = service()
    async with third:
        await third.advance(48 * 3600)
    assert sib.kinds() == ["SRE", "IDR/IAR"]


async def test_health_counts_the_ledger_again_only_when_the_last_count_is_old(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = MockService(clock=manual_clock())
    await service.start()
    try:
        counted: list[float] = []
        count = service.ledger.counts

        async def slow_count() -> dict[str, int]:
            counted.append(time.monotonic())
            await asyncio.sleep(0.05)  # a large ledger: counting takes a while
            return await count()

        monkeypatch.setattr(service.ledger, "counts", slow_count)
        polls = [await service.health() for _ in range(5)]
        assert len(counted) == 1  # the next count waits a hundred times as long as it took
        await service.reset()
        assert (await service.health())["ledger"]["messages"] == 0
        assert len(counted) == 2  # a reset forgets the count
        assert all(p["ledger"] == polls[0]["ledger"] for p in polls)
    finally:
        await service.stop()
