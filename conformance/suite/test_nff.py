"""National Fingerprint File: CAR at the first arrest, CPI after (whichever LEA books), carrying
this subject's FBI number; the additional SRE to CARs and CPIs."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.finding import expect
from conformance.harness import Lea, Mocks
from conformance.traffic import Sent, Traffic
from mocks.cjis import fbi_for_key

from ._helpers import HOUR, ident_kind, match, no_match


def _fbi_from_sre(traffic: Traffic, first: Sent) -> str | None:
    for entry in traffic.deliveries(first):
        if entry["message"]["type1"]["tot"] == "SRE" and "ident" not in entry["message"]["type2"]:
            return str(entry["message"]["type2"]["fbi"])
    return None


def _expect_cpi(traffic: Traffic, repeat: Sent, first: Sent) -> None:
    said = (
        f"the repeat arrest of the subject of {first.tcn} (booking {repeat.booking['booking_id']}"
        f" of LEA {repeat.ori})"
    )
    evidence = [repeat.entry["id"], first.entry["id"]]
    expect(
        repeat.tot == "CPI", f"{said} went to CJIS as a {repeat.tot}, not a CPI", evidence=evidence
    )
    type1, type2 = repeat.message["type1"], repeat.message["type2"]
    fbi = _fbi_from_sre(traffic, first)
    expect(
        type2.get("fbi") == fbi,
        f"{said} went as a CPI with FBI number {type2.get('fbi')}; the SRE to {first.tcn} gave "
        f"this subject {fbi}",
        evidence=evidence,
    )
    expect(
        type2.get("asl") == repeat.booking["charges"] and type2.get("doa") == repeat.booking["doa"],
        f"{said} went as a CPI with charges {[c.get('ncic') for c in type2.get('asl') or []]} "
        f"arrested {type2.get('doa')}; the LEA booked "
        f"{[c['ncic'] for c in repeat.booking['charges']]} arrested {repeat.booking['doa']}",
        evidence=evidence,
    )
    expect(
        type1.get("ori") == repeat.ori,
        f"{said} went as a CPI under ORI {type1.get('ori')}, not the booking LEA's",
        evidence=evidence,
    )


@pytest.mark.requirement("NFF-1")
def test_nff_repeat_arrest_goes_as_cpi(traffic: Traffic, lea: Lea, oris: list[str]) -> None:
    a, b = oris[0], oris[1 % len(oris)]
    one, two = lea.booking(a, days_ago=3), lea.booking(b, days_ago=3)
    firsts = traffic.book_all([one, two])
    traffic.run(300)
    for first in firsts:
        traffic.learned(first)
    again_two = lea.booking(a, person=two["person"], prior=True, charges=2)
    stranger = lea.booking(b)
    again_one = lea.booking(b, person=one["person"], prior=True, charges=3)
    repeats = traffic.book_all([again_two, stranger, again_one])
    expect(
        repeats[1].tot == "CAR",
        f"a first arrest (booking {stranger['booking_id']}) went as a {repeats[1].tot}",
        evidence=[repeats[1].entry["id"]],
    )
    _expect_cpi(traffic, repeats[0], firsts[1])
    _expect_cpi(traffic, repeats[2], firsts[0])


@pytest.mark.requirement("NFF-1")
def test_nff_cpi_for_a_subject_known_elsewhere(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    key = lea.synth.biometric_key()
    known = {"fbi": fbi_for_key(0, key), "biometric_key": key}
    mocks.scenario(seed=0, subjects=[known])
    first = traffic.book(lea.booking(oris[0], key=key, days_ago=1))
    traffic.run(300)
    traffic.learned(first)
    sre = _fbi_from_sre(traffic, first)
    if sre != known["fbi"]:
        raise RuntimeError(f"the mocks answered {first.tcn} without the FBI number on file")
    repeat = lea.booking(oris[-1], person=first.booking["person"], key=key, prior=True)
    _expect_cpi(traffic, traffic.book(repeat), first)


@pytest.mark.requirement("NFF-2")
def test_non_nff_state_always_sends_a_car(traffic: Traffic, lea: Lea, oris: list[str]) -> None:
    first = traffic.book(lea.booking(oris[0], days_ago=2))
    traffic.run(300)
    traffic.learned(first)
    again = lea.booking(oris[-1], person=first.booking["person"], prior=True)
    for sent in traffic.book_all([again, lea.booking(oris[0])]):
        expect(
            sent.tot == "CAR",
            f"booking {sent.booking['booking_id']} of LEA {sent.ori} (a state outside the NFF) "
            f"went to CJIS as a {sent.tot}, not a CAR",
            evidence=[sent.entry["id"]],
        )


@pytest.mark.requirement("NFF-3")
def test_nff_additional_sre_is_taken_and_routed(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    a, b = oris[0], oris[-1]
    hit, miss = lea.synth.biometric_key(), lea.synth.biometric_key()
    mocks.scenario(overrides=[match(hit), no_match(miss)])
    firsts = traffic.book_all([lea.booking(a, key=hit), lea.booking(a, key=miss, days_ago=1)])
    traffic.run(300)
    traffic.learned(firsts[1])
    again = lea.booking(b, person=firsts[1].booking["person"], key=miss, prior=True)
    cpi = traffic.book(again)
    traffic.run(5 * HOUR)
    cases = [
        (firsts[0], a, ident_kind(True, iar=True), "the CAR"),
        (firsts[1], a, ident_kind(True, iar=False), "the CAR"),
        (cpi, b, ident_kind(True, iar=False), f"the {cpi.tot}"),
    ]
    for sent, ori, kind, what in cases:
        got = traffic.await_routed(ori, [kind], sent)
        expect(
            kind in got,
            f"LEA {ori} never received the additional SRE ({kind}) answering {what} {sent.tcn}; "
            f"it received {got}",
            evidence=[e["id"] for e in traffic.deliveries(sent) + traffic.routed(sent)],
        )
