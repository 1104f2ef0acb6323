"""Routing: each response to the LEA that booked, unaltered and once, and to no one else."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from conformance.harness import Lea, Mocks, kind_of

from ._helpers import match, routed_kinds


def _canonical(message: Any) -> str:
    return json.dumps(message, sort_keys=True)


@pytest.mark.requirement("RTE-1")
def test_idr_iar_and_no_match_reach_the_booking_lea(
    mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    hit, miss = lea.synth.biometric_key(), lea.synth.biometric_key()
    no_match = {"when": {"biometric_key": miss}, "outcome": {"ident": "no-match"}}
    mocks.reset(overrides=[match(hit), no_match])
    ori = oris[0]
    for key in (hit, miss):
        assert lea.book(lea.booking(ori, key=key)).status_code < 300
    mocks.advance(5 * 3600)
    delivered = [e["message"] for e in mocks.delivered()]
    assert sorted(kind_of(m) for m in delivered if kind_of(m) != "SRE") in (
        ["IDR", "IDR/IAR"],
        ["SRE+IDR", "SRE+IDR/IAR"],
    )
    mocks.settle(lambda: len(mocks.routed().get(ori, [])) >= len(delivered))
    routed = Counter(_canonical(m) for m in mocks.routed().get(ori, []))
    for message in delivered:
        assert routed[_canonical(message)] == 1, f"{kind_of(message)} not relayed once, unaltered"
    assert set(mocks.routed()) == {ori}


@pytest.mark.requirement("RTE-2")
def test_no_lea_receives_another_leas_response(
    mocks: Mocks, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    mocks.reset(ident={"match_rate": 0.5})
    leas = oris[:10]
    bookings = [lea.booking(leas[i % len(leas)]) for i in range(100)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda b: lea.book(b).status_code, bookings))
    assert all(status < 300 for status in answers), Counter(answers)
    mocks.advance(5 * 3600)
    booked_by = {m["type1"]["tcn"]: m["type1"]["ori"] for m in mocks.submissions()}
    assert len(booked_by) == 100
    delivered = mocks.delivered()
    mocks.settle(lambda: sum(len(v) for v in mocks.routed().values()) >= len(delivered))
    for ori, messages in mocks.routed().items():
        for message in messages:
            tcr = message["type1"]["tcr"]
            assert booked_by.get(tcr) == ori, f"{ori} received {kind_of(message)} for {tcr}"
    routed = sum(len(v) for v in mocks.routed().values())
    assert routed == len(delivered), f"{routed} routed of {len(delivered)} delivered"


@pytest.mark.requirement("RTE-3")
def test_opted_out_lea_receives_no_idr_or_iar(
    mocks: Mocks, lea: Lea, sut_profile: dict[str, Any]
) -> None:
    quiet = sut_profile["opted_out_oris"][0]
    key = lea.synth.biometric_key()
    mocks.reset(overrides=[match(key)])
    assert lea.book(lea.booking(quiet, key=key)).status_code < 300
    mocks.advance(25 * 3600)
    mocks.settle(lambda: False, timeout=0.5)
    received = routed_kinds(mocks, quiet)
    assert not [k for k in received if "IDR" in k or k == "IAR"], received


@pytest.mark.requirement("RTE-4")
def test_routing_off_routes_nothing(mocks: Mocks, lea: Lea, oris: list[str]) -> None:
    key = lea.synth.biometric_key()
    mocks.reset(overrides=[match(key)])
    assert lea.book(lea.booking(oris[0], key=key)).status_code < 300
    assert lea.book(lea.booking(oris[-1])).status_code < 300
    mocks.advance(25 * 3600)
    mocks.settle(lambda: False, timeout=0.5)
    assert mocks.delivered()
    assert mocks.routed() == {}


@pytest.mark.requirement("RTE-5")
def test_errt_reaches_the_booking_lea(mocks: Mocks, lea: Lea, oris: list[str]) -> None:
    key = lea.synth.biometric_key()
    fault = {"kind": "errt", "code": "E0002", "field": "$.type2.dob", "permanent": True}
    mocks.reset(overrides=[{"when": {"biometric_key": key}, "faults": [fault]}])
    assert lea.book(lea.booking(oris[0], key=key)).status_code < 300
    mocks.advance(60)
    mocks.settle(lambda: "ERRT" in routed_kinds(mocks, oris[0]))
    assert routed_kinds(mocks, oris[0]) == ["ERRT"]
