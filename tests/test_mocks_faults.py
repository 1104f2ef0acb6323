"""Each fault the scenario can inject, as a SIB sees it."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

import schemas
from synthetic import Synthesizer
from tests.conftest import MockApi, RecordingSib, booking_car

pytestmark = pytest.mark.anyio


def _for(key: str, *faults: dict[str, Any], match: bool = True) -> dict[str, Any]:
    override: dict[str, Any] = {"when": {"biometric_key": key}, "faults": list(faults)}
    override["outcome"] = {"ident": "match" if match else "no-match"}
    return {"overrides": [override]}


async def _advance(client: httpx.AsyncClient, seconds: float) -> None:
    response = await client.post("/admin/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text


async def test_errt_fault_names_code_field_and_permanence(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    fault = {"kind": "errt", "code": "E0003", "field": "$.type2.hgt", "permanent": False}
    client = await mock_api(_for(key, fault))
    assert (
        await client.post("/cjis/submissions", json=booking_car(synth, key=key))
    ).status_code == 202
    await _advance(client, 60)
    assert sib.kinds() == ["ERRT"]
    errt = sib.messages()[0]
    assert schemas.problems("errt", errt) == []
    assert errt["type2"]["permanent"] is False
    assert [(m["code"], m["field"]) for m in errt["type2"]["msg"]] == [("E0003", "$.type2.hgt")]


@pytest.mark.parametrize(("kind", "status"), [("http-503", 503), ("http-500", 500)])
async def test_transient_http_errors_then_acceptance_of_the_same_tcn(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer, kind: str, status: int
) -> None:
    key = synth.biometric_key()
    client = await mock_api(_for(key, {"kind": kind, "times": 2}))
    car = booking_car(synth, key=key)
    answers = [(await client.post("/cjis/submissions", json=car)).status_code for _ in range(3)]
    assert answers == [status, status, 202]
    failed = await client.post("/cjis/submissions", json=booking_car(synth))
    assert failed.status_code == 202
    entries = (await client.get("/admin/ledger", params={"channel": "cjis-fault"})).json()
    assert [e["tcn"] for e in entries["entries"]] == [car["type1"]["tcn"]] * 2


async def test_503_carries_retry_after_and_a_problem(mock_api: MockApi, synth: Synthesizer) -> None:
    key = synth.biometric_key()
    client = await mock_api(_for(key, {"kind": "http-503", "times": 1}))
    response = await client.post("/cjis/submissions", json=booking_car(synth, key=key))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/problem+json"
    assert schemas.problems("api.json#/$defs/problem", response.json()) == []


async def test_hang_holds_the_acknowledgement(mock_api: MockApi, synth: Synthesizer) -> None:
    key = synth.biometric_key()
    client = await mock_api(_for(key, {"kind": "hang", "seconds": 0.3}))
    began = time.monotonic()
    response = await client.post("/cjis/submissions", json=booking_car(synth, key=key))
    assert response.status_code == 202
    assert time.monotonic() - began >= 0.3


async def test_duplicate_delivery_sends_each_response_twice_with_one_id(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api(_for(key, {"kind": "duplicate-delivery"}))
    await client.post("/cjis/submissions", json=booking_car(synth, key=key))
    await _advance(client, 5 * 3600)
    assert sib.kinds() == ["SRE", "SRE", "IDR/IAR", "IDR/IAR"]
    ids = [r.headers["x-interop-message-id"] for r in sib.deliveries]
    assert ids[0] == ids[1] != ids[2] == ids[3]


async def test_out_of_order_delivers_the_iar_before_the_idr(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api(_for(key, {"kind": "out-of-order"}))
    await client.post("/cjis/submissions", json=booking_car(synth, key=key))
    await _advance(client, 5 * 3600)
    assert sib.kinds() == ["SRE", "IAR", "IDR"]
    for body in sib.messages():
        assert schemas.problems("delivery", body) == []


async def test_malformed_delivery_comes_first_and_is_not_json(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api(_for(key, {"kind": "malformed-delivery"}, match=False))
    await client.post("/cjis/submissions", json=booking_car(synth, key=key))
    await _advance(client, 3600)
    assert sib.kinds() == ["raw", "SRE", "IDR"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(sib.deliveries[0].content)


async def test_invalid_delivery_breaks_its_schema(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api(_for(key, {"kind": "invalid-delivery"}, match=False))
    await client.post("/cjis/submissions", json=booking_car(synth, key=key))
    await _advance(client, 3600)
    assert sib.kinds() == ["SRE", "SRE", "IDR"]
    invalid, *valid = sib.messages()
    assert schemas.problems("delivery", invalid) != []
    assert all(schemas.problems("delivery", body) == [] for body in valid)


async def test_faults_apply_only_where_the_override_matches(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api(_for(key, {"kind": "duplicate-delivery"}, match=False))
    await client.post("/cjis/submissions", json=booking_car(synth))
    await _advance(client, 600)
    assert sib.kinds() == ["SRE"]


async def test_http_400_refuses_then_takes_the_same_tcn(
    mock_api: MockApi, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api(_for(key, {"kind": "http-400", "times": 1}))
    car = booking_car(synth, key=key)
    first = await client.post("/cjis/submissions", json=car)
    assert first.status_code == 400
    assert schemas.problems("api.json#/$defs/problem", first.json()) == []
    assert (await client.post("/cjis/submissions", json=car)).status_code == 202


async def test_inbox_outage_answers_503_for_its_seconds_then_takes(mock_api: MockApi) -> None:
    outage = {"inbox_outages": [{"ori": "NC0920000", "seconds": 0.3}]}
    client = await mock_api(outage)
    message = {"type1": {"tot": "SRE", "tcr": "NC0920000-1"}}
    refused = await client.post("/lea/NC0920000/inbox", json=message)
    assert refused.status_code == 503
    other = await client.post("/lea/NC0410000/inbox", json=message)
    assert other.status_code == 202
    time.sleep(0.35)
    assert (await client.post("/lea/NC0920000/inbox", json=message)).status_code == 202
    ledger = (await client.get("/admin/ledger", params={"channel": "lea-fault:NC0920000"})).json()
    assert len(ledger["entries"]) == 1
    inbox = (await client.get("/lea/NC0920000/inbox")).json()["messages"]
    assert [m["message"] for m in inbox] == [message]
