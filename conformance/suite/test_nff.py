"""National Fingerprint File: CAR at the first arrest, CPI after (whichever LEA books), carrying
this subject's FBI number; the additional SRE to CARs and CPIs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from conformance.finding import expect
from conformance.harness import Lea, Mocks
from conformance.traffic import Sent, Traffic
from mocks.agencies.cjis import fbi_for_key

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


# -- the CAR-or-CPI decision, row by row (docs/sib-contract.md, "The CAR-or-CPI decision") ----


def _known_to_fbi(mocks: Mocks, lea: Lea, n: int) -> list[tuple[str, str]]:
    """`n` subjects the FBI has on file from an arrest elsewhere (biometric key, FBI number):
    a CAR of their prints gets an SRE with `srf` I."""
    known = [(key, fbi_for_key(0, key)) for key in (lea.synth.biometric_key() for _ in range(n))]
    mocks.scenario(seed=0, subjects=[{"fbi": f, "biometric_key": k} for k, f in known])
    return known


def _first_arrest(traffic: Traffic, *bookings: dict[str, Any]) -> list[Sent]:
    """Book first arrests and let CJIS answer them: the SIB has taken (and filed) each SRE."""
    firsts = traffic.book_all(list(bookings))
    traffic.run(300)
    for first in firsts:
        traffic.learned(first)
    return firsts


def _said(sent: Sent, what: str) -> str:
    return f"{what} (booking {sent.booking['booking_id']} of LEA {sent.ori})"


@pytest.mark.requirement("NFF-4")
def test_nff_first_arrest_in_state_goes_as_car_whatever_fbi_knows(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    (told, told_fbi), (elsewhere, _) = _known_to_fbi(mocks, lea, 2)
    rows = [
        (lea.booking(oris[0], key=told, fbi=told_fbi, days_ago=1), "an FBI number on the booking"),
        (lea.booking(oris[-1], key=elsewhere), "known to the FBI (SRE srf I), not to the SIB"),
        (lea.booking(oris[0], days_ago=2), "unknown to the FBI and the SIB"),
    ]
    firsts = _first_arrest(traffic, *(booking for booking, _ in rows))
    for sent, (_, row) in zip(firsts, rows, strict=True):
        expect(
            sent.tot == "CAR",
            _said(sent, f"a first arrest in the state of a subject {row}") + f" went as a "
            f"{sent.tot}, not a CAR: the FBI keeps one card per NFF state in which the subject "
            "was arrested, so the first arrest here sends the prints",
            evidence=[sent.entry["id"]],
        )
    # The LEA says no prior arrest here, but the SIB filed this subject's number from its own
    # earlier CAR: a CAR or a CPI with that number (docs/sib-contract.md, row 3).
    again = traffic.book(lea.booking(oris[-1], person=firsts[2].booking["person"]))
    fbi = _fbi_from_sre(traffic, firsts[2])
    expect(
        again.tot == "CAR" or (again.tot == "CPI" and again.message["type2"].get("fbi") == fbi),
        _said(again, f"a booking without prior arrest of a subject whose SRE gave FBI number {fbi}")
        + f" went as a {again.tot} with FBI number "
        f"{again.message['type2'].get('fbi')}: a CAR, or a CPI with {fbi}",
        evidence=[again.entry["id"], firsts[2].entry["id"]],
    )


@pytest.mark.requirement("NFF-5")
def test_nff_repeat_arrest_with_the_fbi_number_on_the_booking(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    ((key, fbi),) = _known_to_fbi(mocks, lea, 1)
    repeat = traffic.book(lea.booking(oris[-1], key=key, fbi=fbi, prior=True, days_ago=1))
    said = _said(repeat, "a repeat arrest whose booking carries FBI number " + fbi)
    evidence = [repeat.entry["id"]]
    expect(repeat.tot == "CPI", f"{said} went as a {repeat.tot}, not a CPI", evidence=evidence)
    got = repeat.message["type2"].get("fbi")
    expect(got == fbi, f"{said} went as a CPI with FBI number {got}", evidence=evidence)


@pytest.mark.requirement("NFF-6")
def test_nff_repeat_arrest_without_any_fbi_number_is_refused(
    traffic: Traffic, lea: Lea, oris: list[str]
) -> None:
    booking = lea.booking(oris[0], prior=True, days_ago=1)
    response = lea.book(booking)
    said = (
        f"a repeat arrest (booking {booking['booking_id']} of LEA {booking['ori']}) of a subject "
        "whose FBI number neither the booking nor the SIB's file holds"
    )
    expect(
        response.status_code == 422,
        f"{said} was answered HTTP {response.status_code}, not refused with 422: a CPI needs the "
        "FBI number (SOP 2.1.2.2) and a CAR is not sent for a subsequent arrest (SOP 2.1.2)",
    )
    expect("fbi" in response.text, f"the SIB refused {said} without naming the field 'fbi'")
    traffic.watch.quiet("forward")
    sent = traffic.submissions_for(booking)
    expect(
        not sent,
        f"{said} reached CJIS as {[e['message']['type1'].get('tot') for e in sent]}",
        evidence=[e["id"] for e in sent],
    )


@pytest.mark.requirement("NFF-2")
def test_non_nff_state_sends_a_car_whatever_the_fbi_number(
    traffic: Traffic, lea: Lea, oris: list[str]
) -> None:
    fbi = lea.synth.fbi_number()
    rows = [
        (lea.booking(oris[0], prior=True, days_ago=1), "a repeat arrest with no FBI number known"),
        (lea.booking(oris[-1], prior=True, fbi=fbi), "a repeat arrest carrying an FBI number"),
        (lea.booking(oris[0], fbi=lea.synth.fbi_number()), "a first arrest carrying one"),
    ]
    for (_, row), sent in zip(rows, traffic.book_all([b for b, _ in rows]), strict=True):
        expect(
            sent.tot == "CAR",
            _said(sent, row) + f" went as a {sent.tot}: a state outside the NFF sends a CAR",
            evidence=[sent.entry["id"]],
        )


# -- what a CPI carries, field by field ------------------------------------------------------


def _aliased(synth: Any) -> dict[str, Any]:
    """A synthetic person with at least one alias."""
    return next(p for p in (synth.person() for _ in range(400)) if p.get("aka"))


@pytest.mark.requirement("CPI-1")
def test_cpi_carries_the_name_as_booked(traffic: Traffic, lea: Lea, oris: list[str]) -> None:
    person = _aliased(lea.synth)
    (first,) = _first_arrest(traffic, lea.booking(oris[0], person=person, days_ago=3))
    key = first.booking["prints"]["biometric_key"]
    alias = {**person, "nam": person["aka"][0], "aka": [person["nam"], *person["aka"][1:]]}
    rows = [(alias, "under the alias " + alias["nam"]), (person, "under the name first booked")]
    for booked, row in rows:
        repeat = traffic.book(lea.booking(oris[-1], person=booked, key=key, prior=True))
        type2 = repeat.message["type2"]
        said = _said(repeat, f"the CPI for a repeat arrest booked {row}")
        for field in ("nam", "dob"):
            expect(
                type2.get(field) == booked[field],
                f"{said} gives {field} {type2.get(field)!r}; the LEA booked {booked[field]!r}",
                evidence=[repeat.entry["id"], first.entry["id"]],
            )


@pytest.mark.requirement("CPI-2")
def test_cpi_carries_this_arrests_date_and_every_charge(
    traffic: Traffic, lea: Lea, oris: list[str]
) -> None:
    (first,) = _first_arrest(traffic, lea.booking(oris[0], days_ago=6, charges=1))
    booking = lea.booking(oris[0], person=first.booking["person"], prior=True, days_ago=2)
    booking["charges"] = lea.synth.charges(3, doo=lea.mocks.now().date() - timedelta(days=3))
    repeat = traffic.book(booking)
    type2 = repeat.message["type2"]
    said = _said(repeat, f"the CPI for a repeat arrest on {booking['doa']}")
    evidence = [repeat.entry["id"], first.entry["id"]]
    expect(
        type2.get("doa") == booking["doa"],
        f"{said} gives date of arrest {type2.get('doa')} (the first arrest was on "
        f"{first.booking['doa']}, the offenses on {booking['charges'][0]['doo']})",
        evidence=evidence,
    )
    expect(
        type2.get("asl") == booking["charges"],
        f"{said} carries charges {[c.get('ncic') for c in type2.get('asl') or []]}; the LEA "
        f"booked {[c['ncic'] for c in booking['charges']]} (the first arrest "
        f"{[c['ncic'] for c in first.booking['charges']]})",
        evidence=evidence,
    )


@pytest.mark.requirement("CPI-3")
def test_cpi_header_names_the_booking_lea_cjis_and_a_new_tcn(
    traffic: Traffic, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    dai = sut_profile.get("cjis_dai", "WVIAFIS0Z")
    (first,) = _first_arrest(traffic, lea.booking(oris[0], days_ago=2))
    other = next((o for o in oris if o != first.ori), oris[0])
    repeat = traffic.book(lea.booking(other, person=first.booking["person"], prior=True))
    type1, type2 = repeat.message["type1"], repeat.message["type2"]
    said = _said(repeat, "the CPI for a repeat arrest first booked by LEA " + first.ori)
    evidence = [repeat.entry["id"], first.entry["id"]]
    expect(
        type1.get("ori") == other and (type2.get("cri") or [None])[0] == other,
        f"{said} names ORI {type1.get('ori')} and CRI {type2.get('cri')}, not the booking LEA's",
        evidence=evidence,
    )
    expect(type1.get("dai") == dai, f"{said} is addressed to {type1.get('dai')}, not {dai}")
    tcns = [str(e["tcn"]) for e in traffic.mocks.entries(channel="cjis")]
    expect(
        repeat.tcn != first.tcn and tcns.count(repeat.tcn) == 1,
        f"{said} reuses TCN {repeat.tcn} (the first arrest went as {first.tcn})",
        evidence=evidence,
    )


# -- the FBI-number file ---------------------------------------------------------------------


@pytest.mark.requirement("FBI-1")
def test_fbi_file_takes_the_number_of_srf_n_and_srf_i(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    ((key, _),) = _known_to_fbi(mocks, lea, 1)
    firsts = _first_arrest(
        traffic, lea.booking(oris[0], days_ago=2), lea.booking(oris[-1], key=key)
    )
    for first, srf in zip(firsts, ("N", "I"), strict=True):
        sres = [e["message"]["type2"] for e in traffic.deliveries(first)]
        if not any(t.get("srf") == srf for t in sres):
            raise RuntimeError(f"the mocks answered {first.tcn} without an SRE srf {srf}")
    for first in firsts:
        person = first.booking["person"]
        key = first.booking["prints"]["biometric_key"]
        repeat = lea.booking(oris[1 % len(oris)], person=person, key=key, prior=True)
        _expect_cpi(traffic, traffic.book(repeat), first)


@pytest.mark.requirement("FBI-2")
def test_fbi_file_is_kept_by_prints_not_by_name(
    traffic: Traffic, lea: Lea, oris: list[str]
) -> None:
    one = lea.synth.person()
    two = lea.synth.person(nam=one["nam"], dob=one["dob"])
    keys = [lea.synth.biometric_key(), lea.synth.biometric_key()]
    firsts = _first_arrest(
        traffic, lea.booking(oris[0], person=one, key=keys[0], days_ago=3),
        lea.booking(oris[-1], person=two, key=keys[1], days_ago=1),
    )  # fmt: skip
    for first, key in ((firsts[0], keys[0]), (firsts[1], keys[1]), (firsts[0], keys[0])):
        repeat = lea.booking(first.ori, person=first.booking["person"], key=key, prior=True)
        _expect_cpi(traffic, traffic.book(repeat), first)


@pytest.mark.requirement("FBI-3")
def test_fbi_file_survives_a_restart(traffic: Traffic, lea: Lea, oris: list[str]) -> None:
    (first,) = _first_arrest(traffic, lea.booking(oris[0], days_ago=2))
    traffic.restart()
    key = first.booking["prints"]["biometric_key"]
    repeat = lea.booking(oris[-1], person=first.booking["person"], key=key, prior=True)
    _expect_cpi(traffic, traffic.book(repeat), first)
