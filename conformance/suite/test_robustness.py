"""Robustness: every CJIS outage retried with the same TCN, permanent rejections not resent, bad
deliveries refused, generated bookings never a 5xx."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

import schemas
from conformance.finding import expect
from conformance.harness import Lea, Mocks
from conformance.traffic import Traffic, is_for
from protocol.submission import kind_of

from ._helpers import acked, canonical, faulty, match, refused

if TYPE_CHECKING:
    import schemathesis
_OUTAGES = {
    "http-503": {"kind": "http-503", "times": 2},
    "http-500": {"kind": "http-500", "times": 2},
    "connection-reset": {"kind": "connection-reset", "times": 2},
    "hang": {"kind": "hang", "seconds": 0.6},
}


def _attempts(mocks: Mocks, booking: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """The attempts CJIS refused and the submissions it took, for this booking's subject."""
    refused = [e for e in mocks.refused() if is_for(e["message"], booking)]
    taken = [e for e in mocks.entries(channel="cjis") if is_for(e["message"], booking)]
    return refused, taken


@pytest.mark.requirement("ROB-1")
@pytest.mark.parametrize("outage", list(_OUTAGES))
def test_cjis_outage_is_retried_with_the_same_tcn(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str], outage: str
) -> None:
    key = lea.synth.biometric_key()
    fault = _OUTAGES[outage]
    mocks.scenario(overrides=[faulty(key, fault)])
    booking = lea.booking(oris[0], key=key)
    answer = lea.book(booking).status_code
    traffic.watch.until(lambda: _attempts(mocks, booking)[1], "retry")
    traffic.watch.quiet("retry")
    refused, taken = _attempts(mocks, booking)
    tcns = sorted({str(e["tcn"]) for e in refused + taken})
    said = f"CJIS answered {outage} to booking {booking['booking_id']} (HTTP {answer} to the LEA)"
    evidence = [e["id"] for e in refused + taken]
    budget = traffic.watch.budget("retry").within
    expect(taken, f"{said}; within {budget:.0f} s the SIB never got it taken", evidence=evidence)
    expect(
        len(tcns) == 1 and len(taken) == 1,
        f"{said}; the SIB sent it under {len(tcns)} TCNs {tcns} and CJIS took {len(taken)} "
        "submissions: one booking must stay one TCN",
        evidence=evidence,
    )


def _body(entry: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in entry["message"].items() if k != "type1"}, sort_keys=True)


@pytest.mark.requirement("ROB-2")
@pytest.mark.parametrize("rejection", ["permanent-errt", "http-400"])
def test_permanent_rejection_is_not_resubmitted(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str], rejection: str
) -> None:
    key = lea.synth.biometric_key()
    if rejection == "http-400":
        fault: dict[str, Any] = {"kind": "http-400", "times": 5}
    else:
        fault = {"kind": "errt", "code": "E0002", "field": "$.type2.pob", "permanent": True}
    mocks.scenario(overrides=[faulty(key, fault)])
    booking = lea.booking(oris[0], key=key)
    lea.book(booking)
    traffic.watch.until(lambda: any(_attempts(mocks, booking)), "forward")
    traffic.run(60)
    traffic.watch.quiet("retry")
    traffic.run(3600)
    traffic.watch.quiet("retry")
    refused, taken = _attempts(mocks, booking)
    attempts = refused + taken
    same = [e for e in attempts if _body(e) == _body(attempts[0])] if attempts else []
    expect(
        len(same) <= 1,
        f"CJIS rejected booking {booking['booking_id']} of LEA {booking['ori']} with a "
        f"{rejection}; the SIB sent the same submission {len(same)} times "
        f"(TCNs {sorted({str(e['tcn']) for e in same})})",
        evidence=[e["id"] for e in same],
    )


@pytest.mark.requirement("ROB-5")
def test_restart_keeps_tcns_unique_and_resumes_routing(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    ori, key = oris[0], lea.synth.biometric_key()
    mocks.scenario(overrides=[match(key)], inbox_outages=[{"ori": ori, "seconds": 600.0}])
    before = traffic.book_all([lea.booking(ori, key=key), lea.booking(oris[-1])])
    traffic.run(5 * 3600)
    owed = acked(traffic.deliveries(before[0]))
    traffic.restart()
    mocks.scenario()
    after = traffic.book_all([lea.booking(oris[-1]), lea.booking(ori)])
    tcns = [s.tcn for s in before + after]
    expect(
        len(set(tcns)) == len(tcns),
        f"after a restart the SIB used TCNs again: {sorted(tcns)}",
        evidence=[s.entry["id"] for s in before + after],
    )

    def arrived() -> bool:
        have = {canonical(e["message"]) for e in traffic.routed(before[0])}
        return all(canonical(e["message"]) in have for e in owed)

    traffic.watch.until(arrived, "inbox")
    traffic.watch.quiet("route")
    copies = Counter(canonical(e["message"]) for e in traffic.routed(before[0]))
    for entry in owed:
        n = copies[canonical(entry["message"])]
        expect(
            n == 1,
            f"the SIB owed LEA {ori} (its inbox down) the {kind_of(entry['message'])} answering "
            f"{before[0].tcn} when it was restarted; it then arrived {n} times, not once",
            evidence=[entry["id"]],
        )


@pytest.mark.requirement("ROB-3")
def test_bad_delivery_does_not_take_the_sib_down(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    key = lea.synth.biometric_key()
    faults = [{"kind": "malformed-delivery"}, {"kind": "invalid-delivery"}]
    mocks.scenario(overrides=[match(key, faults=faults)])
    sent = traffic.book(lea.booking(oris[0], key=key))
    traffic.run(5 * 3600)
    for entry in traffic.deliveries(sent)[:2]:
        state = entry["delivery"] or {}
        error = str(state.get("last_error") or "")
        expect(
            refused(state),
            f"CJIS delivered a response that is "
            f"{'not JSON' if isinstance(entry['message'], str) else 'against its schema'}; "
            f"the SIB answered {error or 'with success'} ({state.get('state')}), not a refusal "
            "(HTTP 4xx; by e-mail, a 5xx reply)",
            evidence=[entry["id"]],
        )
    traffic.book(lea.booking(oris[-1]))


def _unusual_bookings(lea: Lea, oris: list[str]) -> list[dict[str, Any]]:
    """Valid bookings at the edges of the booking schema: two aliases, forty charges, a person
    with only the fields the schema requires, a State Identification Number."""
    aliases = lea.booking(oris[0])
    person = aliases["person"]
    person["aka"] = [lea.synth.name(person["sex"]) for _ in range(2)]
    many = lea.booking(oris[-1], charges=40)
    bare = lea.booking(oris[0])
    required = schemas.schema("booking")["properties"]["person"].get("required", [])
    bare["person"] = {k: v for k, v in bare["person"].items() if k in required}
    with_sid = lea.booking(oris[-1])
    with_sid["sid"] = lea.synth.sid(oris[-1][:2])
    found = [aliases, many, bare, with_sid]
    for booking in found:
        schemas.validate("booking", booking)
    return found


@pytest.mark.requirement("ROB-4")
def test_generated_bookings_never_get_5xx(
    mocks: Mocks, lea: Lea, oris: list[str], sut_url: str
) -> None:
    for booking in _unusual_bookings(lea, oris):
        status = lea.book(booking).status_code
        expect(
            status < 500,
            f"the SIB answered HTTP {status} to a valid booking at the edge of the schema "
            f"({booking['booking_id']}: {len(booking['charges'])} charges, aliases "
            f"{booking['person'].get('aka', [])}, fields {sorted(booking['person'])})",
        )
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis.generation import GenerationMode

    schemathesis.openapi.format(
        "ebts-date",
        st.dates(date(1800, 1, 1), date(2199, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
    )
    operation = schemathesis.openapi.from_dict(schemas.openapi("sib"))["/bookings"]["POST"]
    answered: list[int] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=8,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=(Phase.generate,),
            report_multiple_bugs=False,
        )
        def send(case: schemathesis.Case[Any]) -> None:
            try:
                response = case.call(base_url=sut_url, timeout=30)
            except requests.RequestException as exc:
                raise AssertionError(f"the SIB dropped the connection: {exc}") from exc
            answered.append(response.status_code)
            expect(
                response.status_code < 500,
                f"the SIB answered HTTP {response.status_code} to a generated booking "
                f"{case.body!r:.300}",
            )

        send()
    if len(answered) < 10:
        raise RuntimeError(f"only {len(answered)} generated bookings were sent")
