"""The mock federal endpoints walked through every path on a manual clock."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

import schemas
from mocks.agencies.steps import Builder
from mocks.timing.backoff import Backoff
from protocol.ebts import parse_gmt
from synthetic import Synthesizer
from tests.conftest import START, MockApi, RecordingSib, booking_car

pytestmark = pytest.mark.anyio

T0 = datetime.fromisoformat(START)


def _match(key: str, **more: Any) -> dict[str, Any]:
    override: dict[str, Any] = {"when": {"biometric_key": key}, "outcome": {"ident": "match"}}
    for field, value in more.items():
        if field in {"offense_level", "alienage", "encounters"}:
            override["outcome"][field] = value
        else:
            override[field] = value
    return override


async def _submit(client: httpx.AsyncClient, message: dict[str, Any]) -> httpx.Response:
    return await client.post("/cjis/submissions", json=message)


async def _advance(client: httpx.AsyncClient, seconds: float) -> dict[str, Any]:
    response = await client.post("/admin/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _at(request: httpx.Request) -> timedelta:
    return parse_gmt(request.headers["x-interop-virtual-time"]) - T0


def _assert_deliveries_valid(sib: RecordingSib) -> None:
    for request in sib.deliveries:
        body = json.loads(request.content)
        assert schemas.problems("delivery", body) == []
        assert request.headers["x-interop-virtual-time"] == body["type1"]["gmt"]
        assert request.headers["x-interop-message-id"] == body["type1"]["tcn"]


async def test_match_comes_back_as_idr_iar_within_four_hours(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api({"overrides": [_match(key, offense_level=2)]})
    car = booking_car(synth, key=key)
    ack = await _submit(client, car)
    assert ack.status_code == 202
    assert ack.json()["tcn"] == car["type1"]["tcn"]
    await _advance(client, 5 * 3600)
    assert sib.kinds() == ["SRE", "IDR/IAR"]
    assert [_at(r) for r in sib.deliveries] == [timedelta(minutes=2), timedelta(hours=4)]
    _assert_deliveries_valid(sib)
    sre, idr_iar = sib.messages()
    assert sre["type2"]["srf"] == "N"
    assert idr_iar["type1"]["tcr"] == car["type1"]["tcn"]
    assert idr_iar["type1"]["dai"] == car["type1"]["ori"]
    assert 1 <= len(idr_iar["type2"]["encounters"]) <= 5
    assert idr_iar["type2"]["iar"]["offense_level"] == 2
    ledger = (await client.get("/admin/ledger", params={"tcn": car["type1"]["tcn"]})).json()
    channels = [(e["channel"], e["tot"]) for e in ledger["entries"]]
    assert channels == [
        ("cjis", "CAR"),
        ("sib", "SRE"),
        ("ident", "IDR"),
        ("lesc", "IAQ"),
        ("lesc", "IAR"),
        ("dro", "IAR"),
        ("sib", "IDR"),
    ]
    for entry in ledger["entries"][1:]:
        schema = {"IAQ": "iaq", "IAR": "iar", "IDR": "idr", "SRE": "sre"}[entry["tot"]]
        assert schemas.problems(schema, entry["message"]) == []
    dro = (await client.get("/dro/inbox")).json()["messages"]
    assert [m["tot"] for m in dro] == ["IAR"]
    assert dro[0]["message"]["type2"]["dro"] == "NCICE0100"


async def test_level_1_subject_gets_a_detainer_at_the_dro(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api({"overrides": [_match(key, offense_level=1, alienage="alien")]})
    await _submit(client, booking_car(synth, key=key))
    await _advance(client, 5 * 3600)
    dro = (await client.get("/dro/inbox")).json()["messages"]
    assert [m["tot"] for m in dro] == ["IAR", "DET"]
    detainer = dro[1]["message"]
    assert schemas.problems("detainer", detainer) == []
    assert detainer["lea"] == "NC0920000"
    assert detainer["lodged_at"] == (T0 + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("late_iar", ["deliver", "drop"])
async def test_iar_at_25_hours_means_idr_alone_at_24_then_the_late_iar(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer, late_iar: str
) -> None:
    key = synth.biometric_key()
    client = await mock_api({"overrides": [_match(key, timing="slow-iar", late_iar=late_iar)]})
    await _submit(client, booking_car(synth, key=key))
    await _advance(client, 23 * 3600)
    assert sib.kinds() == ["SRE"]
    await _advance(client, 3600)
    assert sib.kinds() == ["SRE", "IDR"]
    assert _at(sib.deliveries[1]) == timedelta(hours=24)
    assert "iar" not in sib.messages()[1]["type2"]
    await _advance(client, 2 * 3600)
    if late_iar == "deliver":
        assert sib.kinds() == ["SRE", "IDR", "IAR"]
        assert _at(sib.deliveries[2]) == timedelta(hours=25)
    else:
        assert sib.kinds() == ["SRE", "IDR"]
    _assert_deliveries_valid(sib)


async def test_no_match_gets_a_no_match_idr_and_no_iaq(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    client = await mock_api({"ident": {"match_rate": 0}})
    car = booking_car(synth)
    await _submit(client, car)
    await _advance(client, 25 * 3600)
    assert sib.kinds() == ["SRE", "IDR"]
    idr = sib.messages()[1]
    assert idr["type2"] == {"result": "no-match", "encounters": []}
    assert _at(sib.deliveries[1]) <= timedelta(hours=24)
    ledger = (await client.get("/admin/ledger", params={"channel": "lesc"})).json()
    assert ledger["entries"] == []
    _assert_deliveries_valid(sib)


async def test_arrest_eight_days_old_starts_no_ident_search(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api({"overrides": [_match(key)]})
    car = booking_car(synth, key=key, arrested=date(2026, 11, 15))
    await _submit(client, car)
    await _advance(client, 25 * 3600)
    assert sib.kinds() == ["SRE"]
    ledger = (await client.get("/admin/ledger", params={"tcn": car["type1"]["tcn"]})).json()
    assert [e["channel"] for e in ledger["entries"]] == ["cjis", "sib"]


async def test_arrest_seven_days_old_is_still_searched(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api({"overrides": [_match(key)]})
    await _submit(client, booking_car(synth, key=key, arrested=date(2026, 11, 16)))
    await _advance(client, 5 * 3600)
    assert sib.kinds() == ["SRE", "IDR/IAR"]


async def test_ori_not_activated_gets_only_the_iafis_sre(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api({"activated_oris": ["NC0410000"], "overrides": [_match(key)]})
    await _submit(client, booking_car(synth, key=key, ori="NC0920000"))
    await _advance(client, 25 * 3600)
    assert sib.kinds() == ["SRE"]


async def test_nff_state_gets_the_extra_sre_and_cpi_is_searched_by_fbi_number(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api({"nff_states": ["NC"], "overrides": [_match(key, offense_level=3)]})
    car = booking_car(synth, key=key)
    await _submit(client, car)
    await _advance(client, 5 * 3600)
    assert sib.kinds() == ["SRE", "SRE+ident/IAR"]
    fbi = sib.messages()[0]["type2"]["fbi"]
    assert sib.messages()[1]["type2"]["fbi"] == fbi
    # the additional SRE routes like the CAR: 2.073 CRI and the DAI are the submitting ORI
    assert sib.messages()[1]["type2"]["cri"] == [car["type1"]["ori"]]
    assert {m["type1"]["dai"] for m in sib.messages()} == {car["type1"]["ori"]}
    sib.deliveries.clear()
    cpi = {
        "type1": {**car["type1"], "tot": "CPI", "tcn": car["type1"]["tcn"] + "-R"},
        "type2": {
            "fbi": fbi,
            "doa": car["type2"]["doa"],
            "asl": [{"aol": "Gambling", "doo": car["type2"]["doa"]}],
            "cri": ["NC0920000"],
        },
    }  # the charge as EBTS has it (2.047 ASL: DOO and AOL): LESC classifies the literal
    assert schemas.problems("cpi", cpi) == []
    assert (await _submit(client, cpi)).status_code == 202
    await _advance(client, 5 * 3600)
    assert sib.kinds() == ["SRE+ident/IAR"]
    second = sib.messages()[0]
    assert second["type1"]["tcr"] == cpi["type1"]["tcn"]
    history = second["type2"]["ident"]["iar"]["history"]
    assert {"ncic": "3999", "aol": "Gambling", "doo": car["type2"]["doa"],
            "disposition": "pending"} in history  # fmt: skip
    _assert_deliveries_valid(sib)


async def test_second_car_of_a_subject_is_identified(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api({"ident": {"match_rate": 0}})
    await _submit(client, booking_car(synth, key=key))
    await _submit(client, booking_car(synth, key=key))
    await _advance(client, 600)
    first, second = sib.messages()
    assert (first["type2"]["srf"], second["type2"]["srf"]) == ("N", "I")
    assert first["type2"]["fbi"] == second["type2"]["fbi"]


async def test_cpi_with_unknown_fbi_number_gets_errt(mock_api: MockApi, sib: RecordingSib) -> None:
    client = await mock_api({"nff_states": ["NC"]})
    cpi = schemas.examples("cpi")[0]
    await _submit(client, cpi)
    await _advance(client, 60)
    assert sib.kinds() == ["ERRT"]
    (entry,) = sib.messages()[0]["type2"]["msg"]
    assert (entry["code"], entry["field"]) == ("E0002", "$.type2.fbi")
    assert "4821937KA" in entry["text"]


async def test_cpi_from_a_state_outside_the_nff_is_refused(
    mock_api: MockApi, sib: RecordingSib
) -> None:
    client = await mock_api(
        {"subjects": [{"fbi": "4821937KA", "biometric_key": "SYN-00000000000000A1"}]}
    )
    await _submit(client, schemas.examples("cpi")[0])
    await _advance(client, 60)
    (entry,) = sib.messages()[0]["type2"]["msg"]
    assert (entry["code"], entry["field"]) == ("A0004", "$.type1.tot")


async def test_cpi_for_a_subject_on_file_is_searched(mock_api: MockApi, sib: RecordingSib) -> None:
    client = await mock_api(
        {
            "nff_states": ["NC"],
            "subjects": [{"fbi": "4821937KA", "biometric_key": "SYN-00000000000000A1"}],
            "overrides": [_match("SYN-00000000000000A1")],
        }
    )
    await _submit(client, schemas.examples("cpi")[0])
    await _advance(client, 5 * 3600)
    assert sib.kinds() == ["SRE+ident/IAR"]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (lambda m: m["type2"].pop("dob"), "E0001", "$.type2.dob"),
        (lambda m: m["type2"].update(pob="nowhere"), "E0002", "$.type2.pob"),
        (lambda m: m["type2"].update(asl=[]), "E0003", "$.type2.asl"),
        (lambda m: m["prints"].update(kind="flat-two-print"), "E0006", "$.prints.impressions"),
        (lambda m: m["type1"].pop("ori"), "H0001", "$.type1.ori"),
        (lambda m: m["type1"].update(dai="VA0000000"), "H0002", "$.type1.dai"),
        (lambda m: m["type1"].update(tot="SRE"), "A0004", "$.type1.tot"),
    ],
    ids=["missing", "invalid", "out-of-range", "inconsistent", "header", "dai", "tot"],
)
async def test_ebts_problems_come_back_as_errt_naming_code_and_field(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer, change: Any, code: str, field: str
) -> None:
    client = await mock_api()
    car = booking_car(synth)
    change(car)
    assert (await _submit(client, car)).status_code == 202
    await _advance(client, 60)
    assert sib.kinds() == ["ERRT"]
    errt = sib.messages()[0]
    assert errt["type1"]["tcr"] == car["type1"]["tcn"]
    assert errt["type2"]["permanent"] is True
    assert (code, field) in {(m["code"], m["field"]) for m in errt["type2"]["msg"]}
    _assert_deliveries_valid(sib)


async def test_duplicate_tcn_is_acknowledged_and_starts_nothing(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    client = await mock_api({"ident": {"match_rate": 0}})
    car = booking_car(synth)
    assert (await _submit(client, car)).json()["status"] == "accepted"
    assert (await _submit(client, car)).json()["status"] == "duplicate"
    await _advance(client, 25 * 3600)
    assert sib.kinds() == ["SRE", "IDR"]


async def test_delivery_retries_a_sib_that_fails_then_settles(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    client = await mock_api({"activated_oris": ["NC0410000"]})
    client.service.courier.backoff = Backoff(0.001, 2, 0.01)
    sib.answers = [503, 503, 200]
    car = booking_car(synth)
    await _submit(client, car)
    await _advance(client, 600)
    assert len(sib.deliveries) == 3
    ids = {r.headers["x-interop-message-id"] for r in sib.deliveries}
    assert len(ids) == 1
    entries = (await client.get("/admin/ledger", params={"channel": "sib"})).json()["entries"]
    assert entries[0]["delivery"]["state"] == "delivered"
    assert entries[0]["delivery"]["attempts"] == 3


def test_response_tcns_lead_with_the_submission_date_and_are_stable() -> None:
    """A response's TCN is the same each time its submission is planned, valid EBTS, and led by
    the submission's date (so the ledger's TCN indexes grow at one end)."""
    car = booking_car(Synthesizer(11))
    tcns = [Builder(car).type1(tot)["tcn"] for tot in ("SRE", "IDR", "ERRT")]
    assert tcns == [Builder(car).type1(tot)["tcn"] for tot in ("SRE", "IDR", "ERRT")]
    day = car["type1"]["dat"]
    assert [t.split("-")[:2] for t in tcns] == [["SRE", day], ["IDR", day], ["ERRT", day]]
    for tcn in tcns:
        assert schemas.problems("common.json#/$defs/tcn", tcn) == []
    undated = dict(car, type1={k: v for k, v in car["type1"].items() if k != "dat"})
    assert Builder(undated).type1("ERRT")["tcn"].count("-") == 1
