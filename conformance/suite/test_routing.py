"""Routing: each response to the LEA that booked, unaltered and once, to no one else; opted-out
LEAs get no IDENT result but still their SRE; routing off; ERRTs; inbox outages."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from conformance.finding import expect
from conformance.harness import Lea, Mocks
from conformance.traffic import Sent, Traffic
from protocol.ebts import ori_county
from protocol.submission import kind_of

from ._helpers import (
    HOUR,
    acked,
    canonical,
    faulty,
    ident_kind,
    is_ident,
    match,
    no_match,
    slow_iar,
    sre_reaches_each_booker,
)


def _outcomes(mocks: Mocks, lea: Lea) -> list[str]:
    """Keys of a match with five encounters, a no-match, a match whose IAR comes late (the IDR
    alone, then the IAR) and one whose late IAR CJIS drops. (The ERRT's relay is RTE-5's.)"""
    hit, miss, late, dropped = (lea.synth.biometric_key() for _ in range(4))
    five = {"ident": "match", "encounters": 5}
    mocks.scenario(
        overrides=[
            {"when": {"biometric_key": hit}, "outcome": five},
            no_match(miss),
            match(late, timing=slow_iar(25), late_iar="deliver"),
            match(dropped, timing=slow_iar(25), late_iar="drop"),
        ]
    )
    return [hit, miss, late, dropped]


def _relayed_once(traffic: Traffic, sent: list[Sent]) -> None:
    """Every delivery the SIB took about `sent` arrives at the booking LEA once, unaltered."""
    owed = [(e, s) for s in sent for e in acked(traffic.deliveries(s))]

    def arrived() -> bool:
        routed = Counter((e["channel"], canonical(e["message"])) for e in traffic.routed(*sent))
        return all(routed[(f"lea:{s.ori}", canonical(e["message"]))] for e, s in owed)

    traffic.watch.until(arrived, "route")
    traffic.watch.quiet("route")
    routed = traffic.routed(*sent)
    copies = Counter((e["channel"], canonical(e["message"])) for e in routed)
    for entry, s in owed:
        n = copies[(f"lea:{s.ori}", canonical(entry["message"]))]
        kind = kind_of(entry["message"])
        expect(
            n == 1,
            f"expected the {kind} {entry['tcn']} answering {s.tcn} at LEA {s.ori} once, "
            f"unaltered; it arrived {n} times" + (" (or altered)" if n == 0 else ""),
            evidence=[entry["id"], *[e["id"] for e in routed if e["tcn"] == entry["tcn"]]],
        )


@pytest.mark.requirement("RTE-1")
def test_every_response_is_relayed_unaltered_once(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    keys = _outcomes(mocks, lea)
    sent = traffic.book_all([lea.booking(oris[i % 2 - 1], key=k) for i, k in enumerate(keys)])
    traffic.run(5 * HOUR)
    traffic.run(21 * HOUR)
    _relayed_once(traffic, sent)


@pytest.mark.requirement("RTE-2")
def test_no_lea_receives_another_leas_response(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    mocks.scenario(ident={"match_rate": 0.5})
    leas = oris[:6]
    bookings = [lea.booking(leas[i % len(leas)]) for i in range(18)]
    for i in range(3):
        shared = lea.booking(leas[(i + 1) % len(leas)], person=bookings[i]["person"])
        bookings.insert(2 * i + 1, shared)
    sent = traffic.book_all(bookings, workers=8)
    traffic.run(5 * HOUR)
    _only_at_bookers(traffic, sent)


def _only_at_bookers(traffic: Traffic, sent: list[Sent]) -> None:
    """Once the SIB routed what it took about `sent` (ERRTs, a SHOULD, not waited for), no LEA
    holds a message answering another LEA's submission."""
    booked_by = {s.tcn: s.ori for s in sent}
    owed = sum(
        1 for s in sent for e in acked(traffic.deliveries(s)) if kind_of(e["message"]) != "ERRT"
    )
    traffic.watch.until(lambda: len(traffic.routed(*sent)) >= owed, "route")
    traffic.watch.quiet("route")
    for entry in traffic.routed(*sent, everywhere=True):
        ori, tcr = entry["channel"][4:], entry["message"]["type1"]["tcr"]
        expect(
            booked_by[tcr] == ori,
            f"LEA {ori} received the {kind_of(entry['message'])} answering {tcr}, which LEA "
            f"{booked_by[tcr]} booked ({_sent_as(booked_by, sent, tcr)})",
            evidence=[entry["id"]],
        )


def _sent_as(booked_by: dict[str, str], sent: list[Sent], tcr: str) -> str:
    """How the booking a TCN answers looks beside the others: what a SIB routing by anything
    but the TCR may have confused it with."""
    booking = next(s.booking for s in sent if s.tcn == tcr)
    same_number = sorted({s.ori for s in sent if s.booking["booking_id"] == booking["booking_id"]})
    county = sorted({o for o in booked_by.values() if ori_county(o) == ori_county(booking["ori"])})
    said = [f"booking number {booking['booking_id']}"]
    if len(same_number) > 1:
        said.append(f"used by LEAs {', '.join(same_number)} alike")
    if len(county) > 1:
        said.append(f"county {ori_county(booking['ori'])} holds LEAs {', '.join(county)}")
    return "; ".join(said)


def _quiet_ori(sut_profile: dict[str, Any]) -> str:
    return str(sut_profile["opted_out_oris"][0])


@pytest.mark.requirement("RTE-3")
def test_opted_out_lea_receives_no_idr_or_iar(
    traffic: Traffic, mocks: Mocks, lea: Lea, sut_profile: dict[str, Any]
) -> None:
    quiet = _quiet_ori(sut_profile)
    sent = traffic.book_all([lea.booking(quiet, key=k) for k in _outcomes(mocks, lea)])
    traffic.run(5 * HOUR)
    traffic.run(21 * HOUR)
    taken = [e for s in sent for e in acked(traffic.deliveries(s))]
    plain = [e for e in taken if not is_ident(kind_of(e["message"]))]
    traffic.watch.until(lambda: len(traffic.routed(*sent)) >= len(plain), "route")
    traffic.watch.quiet("route")
    leaked = [e for e in traffic.routed(*sent) if is_ident(kind_of(e["message"]))]
    expect(
        not leaked,
        f"LEA {quiet} turned receipt of IDRs and IARs off, yet received "
        f"{[kind_of(e['message']) for e in leaked]} answering {sorted({e['tcr'] for e in leaked})}",
        evidence=[e["id"] for e in leaked],
    )


@pytest.mark.requirement("RTE-4")
def test_routing_off_routes_no_ident_response(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    keys = _outcomes(mocks, lea)
    sent = traffic.book_all([lea.booking(oris[i % len(oris)], key=k) for i, k in enumerate(keys)])
    traffic.run(5 * HOUR)
    traffic.run(21 * HOUR)
    taken = [e for s in sent for e in acked(traffic.deliveries(s))]
    expect(taken, "the SIB took none of the responses CJIS delivered to it")
    traffic.watch.quiet("route")
    routed = traffic.routed(*sent, everywhere=True)
    leaked = [e for e in routed if is_ident(kind_of(e["message"]))]
    expect(
        not leaked,
        "the state does not employ message routing, yet the SIB routed "
        + ", ".join(f"{kind_of(e['message'])} to {e['channel'][4:]}" for e in leaked[:5]),
        evidence=[e["id"] for e in leaked],
    )


@pytest.mark.requirement("RTE-5")
def test_errt_reaches_the_booking_lea(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    _errts_reach(traffic, mocks, lea, [oris[0], oris[-1]], "")


def _errts_reach(traffic: Traffic, mocks: Mocks, lea: Lea, leas: list[str], why: str) -> None:
    """CJIS rejects a booking of each LEA in `leas`, one with a permanent ERRT, the next with a
    correctable one: each ERRT reaches the LEA that booked (`why`: what else the LEA is)."""
    keys = [lea.synth.biometric_key() for _ in leas]
    faults = [
        {"kind": "errt", "code": "E0002", "field": "$.type2.dob", "permanent": True},
        {"kind": "errt", "code": "E0003", "field": "$.type2.hgt", "permanent": False},
    ]
    mocks.scenario(overrides=[faulty(k, faults[i % 2]) for i, k in enumerate(keys)])
    sent = traffic.book_all([lea.booking(a, key=k) for a, k in zip(leas, keys, strict=True)])
    traffic.run(60)
    for i, s in enumerate(sent):
        got = traffic.await_routed(s.ori, ["ERRT"], s)
        expect(
            "ERRT" in got,
            f"CJIS rejected {s.tcn} with a {('permanent', 'correctable')[i % 2]} ERRT, which "
            f"never reached LEA {s.ori}{why}",
            evidence=[e["id"] for e in traffic.deliveries(s)],
        )


@pytest.mark.requirement("RTE-6")
def test_plain_sre_reaches_the_booking_lea_even_opted_out(
    traffic: Traffic, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    leas = [oris[0], *sut_profile.get("opted_out_oris", [])[:1]]
    sent = traffic.book_all([lea.booking(ori) for ori in leas])
    why = "SOP 2.1.3: it still gets IAFIS responses through its SIB"
    sre_reaches_each_booker(traffic, sent, why)


@pytest.mark.requirement("RTE-7")
def test_lea_inbox_outage_loses_nothing(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    ori, key = oris[0], lea.synth.biometric_key()
    mocks.scenario(overrides=[match(key)], inbox_outages=[{"ori": ori, "seconds": 1.5}])
    sent = traffic.book(lea.booking(ori, key=key))
    traffic.run(5 * HOUR)
    owed = acked(traffic.deliveries(sent))

    def arrived() -> bool:
        have = {canonical(e["message"]) for e in traffic.routed(sent)}
        return all(canonical(e["message"]) in have for e in owed)

    traffic.watch.until(arrived, "inbox")
    traffic.watch.quiet("route")
    copies = Counter(canonical(e["message"]) for e in traffic.routed(sent))
    refused = mocks.entries(channel=f"lea-fault:{ori}")
    for entry in owed:
        n = copies[canonical(entry["message"])]
        expect(
            n == 1,
            f"the inbox of LEA {ori} was down for 1.5 s and refused {len(refused)} attempt(s); "
            f"the {kind_of(entry['message'])} answering {sent.tcn} then arrived {n} times, "
            "not once",
            evidence=[entry["id"], *[e["id"] for e in refused[:5]]],
        )


# -- the shapes real agencies have: booking numbers, counties, opt-out's reach --------------------


def _receiving(profile: dict[str, Any]) -> list[str]:
    """The ORIs whose LEAs receive what answers their bookings (the plain SRE at least): the
    activated ones that did not opt out, then the ones not activated for Interoperability."""
    opted_out = set(profile.get("opted_out_oris", []))
    activated = [o for o in profile["activated_oris"] if o not in opted_out]
    return activated + list(profile.get("non_activated_oris", []))


def _county_siblings(profile: dict[str, Any]) -> list[str]:
    """The largest set of receiving ORIs of one county (sharing their first five characters), or
    none when the profile lists no two."""
    counties: dict[str, list[str]] = {}
    for ori in _receiving(profile):
        counties.setdefault(ori_county(ori), []).append(ori)
    return max(counties.values(), key=len, default=[])


@pytest.mark.requirement("RTE-8")
def test_colliding_booking_numbers_route_by_tcr(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    a, b = oris[0], oris[1 % len(oris)]
    rejected, hit, miss = (lea.synth.biometric_key() for _ in range(3))
    errt = {"kind": "errt", "code": "E0003", "field": "$.type2.hgt", "permanent": False}
    mocks.scenario(overrides=[faulty(rejected, errt), match(hit), no_match(miss)])
    year = mocks.now().year
    first, second = (lea.synth.booking_number(n, year) for n in (1, 2))
    bookings = [
        lea.booking(a, key=rejected, booking_id=first),
        lea.booking(b, key=hit, booking_id=first),
        lea.booking(a, key=miss, booking_id=second),
        lea.booking(b, booking_id=second),
    ]
    sent = traffic.book_all(bookings)
    traffic.run(5 * HOUR)
    _only_at_bookers(traffic, sent)


@pytest.mark.requirement("RTE-9")
def test_county_siblings_each_receive_their_own(
    traffic: Traffic, mocks: Mocks, lea: Lea, sut_profile: dict[str, Any]
) -> None:
    siblings = _county_siblings(sut_profile)
    if len(siblings) < 2:
        pytest.skip(
            "the SUT profile lists no two receiving ORIs of one county (sharing their first "
            "five characters); list a sub-agency in activated_oris or non_activated_oris"
        )
    mocks.scenario(ident={"match_rate": 0.5})
    bookings = [lea.booking(siblings[i % len(siblings)]) for i in range(2 * len(siblings))]
    sent = traffic.book_all(bookings)
    traffic.run(5 * HOUR)
    _only_at_bookers(traffic, sent)


@pytest.mark.requirement("RTE-10")
def test_opt_out_covers_one_ori_exactly(
    traffic: Traffic, mocks: Mocks, lea: Lea, sut_profile: dict[str, Any]
) -> None:
    quiet = set(sut_profile["opted_out_oris"])
    neighbours = [
        (q, o)
        for q in sut_profile["opted_out_oris"]
        for o in sut_profile["activated_oris"]
        if o not in quiet and ori_county(o) == ori_county(q)
    ]
    if not neighbours:
        pytest.skip(
            "the SUT profile lists no activated ORI of the county of an opted-out one; list a "
            "sub-agency beside an opted-out LEA in activated_oris"
        )
    opted, ori = neighbours[0]
    hit, miss = lea.synth.biometric_key(), lea.synth.biometric_key()
    mocks.scenario(overrides=[match(hit), no_match(miss)])
    sent = traffic.book_all([lea.booking(ori, key=hit), lea.booking(ori, key=miss)])
    traffic.run(5 * HOUR)
    for s, iar in zip(sent, (True, False), strict=True):
        wanted = ident_kind(sut_profile["nff"], iar=iar)
        got = traffic.await_routed(ori, [wanted], s)
        expect(
            wanted in got,
            f"LEA {ori} did not turn receipt of IDRs and IARs off (LEA {opted} of its county "
            f"did), yet never received the {wanted} answering its booking {s.tcn}; it "
            f"received {got}",
            evidence=[e["id"] for e in traffic.deliveries(s)],
        )


@pytest.mark.requirement("RTE-11")
def test_errt_reaches_an_opted_out_lea(
    traffic: Traffic, mocks: Mocks, lea: Lea, sut_profile: dict[str, Any]
) -> None:
    quiet = _quiet_ori(sut_profile)
    why = ", which turned receipt of IDRs and IARs off (not of IAFIS answers)"
    _errts_reach(traffic, mocks, lea, [quiet, quiet], why)
