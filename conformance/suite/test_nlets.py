"""The LEA's NLETS path (SOP 2.2.7, 3.1.4): after a no-match IDR the LEA may query the ICE LESC by
name through NLETS, its state's switch relaying the IAQ under the LEA's ORI and LESC's IAR to that
LEA alone; never before the no-match IDR, never for an LEA that did not ask; automated
blind-booking IAQs retired where the LEA retired them, and a booking with POB unknown goes by
fingerprints as any other (docs/nlets.md)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.finding import expect
from conformance.harness import Lea, Mocks
from conformance.traffic import Sent, Traffic
from protocol.ebts import ori_county, parse_gmt
from protocol.nlets import POB_UNKNOWN, ident_result
from protocol.submission import kind_of

from ._helpers import HOUR, canonical, names_the_lea, no_match, sre_reaches_each_booker

_LESC_ANSWERS = 5 * HOUR
"""Virtual time within which LESC's name-based IAR has come under every shipped timing profile
(`nlets_iar`: 30 minutes, or lognormal capped at 4 hours)."""


def _book_no_match(traffic: Traffic, mocks: Mocks, lea: Lea, ori: str) -> Sent:
    """A booking of LEA `ori` whose IDENT search will find no match, sent to CJIS."""
    key = lea.synth.biometric_key()
    mocks.scenario(overrides=[no_match(key)])
    return traffic.book(lea.booking(ori, key=key))


def _no_match_idrs(traffic: Traffic, sent: Sent) -> list[dict[str, Any]]:
    """An hour on: the no-match IDRs CJIS delivered to the SIB about `sent` (ledger entries)."""
    traffic.run(HOUR)
    came = [e for e in traffic.deliveries(sent) if ident_result(e["message"]) == "no-match"]
    expect(bool(came), f"CJIS delivered no no-match IDR for {sent.tcn} (the harness's own fault)")
    return came


def _booked_no_match(traffic: Traffic, mocks: Mocks, lea: Lea, ori: str) -> Sent:
    """A booking of LEA `ori` whose IDENT search finds no match, taken up to its no-match IDR."""
    sent = _book_no_match(traffic, mocks, lea, ori)
    _no_match_idrs(traffic, sent)
    return sent


def _ask(lea: Lea, sent: Sent, ori: str | None = None) -> dict[str, Any]:
    """LEA `ori` (the booker by default) asks LESC by name about `sent`'s subject, after its
    no-match IDR; the SIB must take the IAQ (2xx)."""
    iaq = lea.nlets_iaq(ori or sent.ori, sent.booking["person"], tcr=sent.tcn)
    response = lea.ask_lesc(iaq)
    expect(
        response.status_code < 300,
        f"the SIB refused LEA {iaq['header']['ori']}'s name-based IAQ {iaq['header']['mid']} "
        f"after the no-match IDR of {sent.tcn} with HTTP {response.status_code}: "
        f"{response.text[:300]}",
    )
    return iaq


def _about(mocks: Mocks, person: dict[str, Any]) -> list[dict[str, Any]]:
    """The IAQs NLETS took about this subject (by date of birth and a name the IAQ could give)."""
    names = {person["nam"][:30].rstrip(" -'"), *(n[:30] for n in person.get("aka", []))}
    found = [(e, e["message"]["txt"]) for e in mocks.nlets()]
    return [e for e, txt in found if txt.get("dob") == person["dob"] and txt.get("nam") in names]


def _at_lesc(traffic: Traffic, mocks: Mocks, person: dict[str, Any]) -> list[dict[str, Any]]:
    """Wait (budget `nlets`) for an IAQ about `person` at NLETS, then the quiet period: every
    IAQ about `person` there."""
    traffic.watch.until(lambda: _about(mocks, person), "nlets")
    traffic.watch.quiet("nlets")
    return _about(mocks, person)


@pytest.mark.requirement("NLT-1")
def test_name_based_iaq_reaches_lesc_under_the_leas_ori(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    sent = _booked_no_match(traffic, mocks, lea, oris[0])
    iaq = _ask(lea, sent)
    found = _at_lesc(traffic, mocks, sent.booking["person"])
    mid = iaq["header"]["mid"]
    expect(
        bool(found),
        f"LESC never received LEA {sent.ori}'s name-based IAQ {mid} (after the no-match IDR of "
        f"{sent.tcn}) through NLETS within {traffic.watch.budget('nlets').within:.0f} s",
    )
    same = [e for e in found if e["ori"] == sent.ori and canonical(e["message"]) == canonical(iaq)]
    expect(
        bool(same),
        f"LEA {sent.ori}'s name-based IAQ {mid} reached LESC under ORI "
        f"{', '.join(sorted({str(e['ori']) for e in found}))}"
        + ("" if any(e["ori"] == sent.ori for e in found) else ", not the LEA's")
        + " or altered: LESC answers the sender ORI, and the query must say which agency asked",
        evidence=[e["id"] for e in found],
    )


@pytest.mark.requirement("NLT-2")
def test_name_based_iar_reaches_the_asking_lea_only(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    sent = _booked_no_match(traffic, mocks, lea, oris[0])
    other = lea.booking(oris[1])  # another LEA's traffic beside it
    traffic.book(other)
    iaq = _ask(lea, sent)
    mid = iaq["header"]["mid"]
    _at_lesc(traffic, mocks, sent.booking["person"])
    traffic.run(_LESC_ANSWERS)

    def answers() -> list[dict[str, Any]]:
        return [
            e
            for e in mocks.entries()
            if e["channel"].startswith("lea:")
            and kind_of(e["message"]) == "NLETS-IAR"
            and e["message"]["header"].get("mir") == mid
        ]

    traffic.watch.until(lambda: [e for e in answers() if e["channel"][4:] == sent.ori], "route")
    traffic.watch.quiet("route")
    found = answers()
    at = [str(e["channel"])[4:] for e in found]
    expect(
        at == [sent.ori],
        f"LESC's name-based IAR answering LEA {sent.ori}'s IAQ {mid} arrived at "
        f"{at or 'no LEA'}; it goes to {sent.ori}, once, and to no other LEA",
        evidence=[e["id"] for e in found],
    )


@pytest.mark.requirement("NLT-3")
def test_no_name_based_iaq_before_the_no_match_idr(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    sent = _book_no_match(traffic, mocks, lea, oris[0])
    code = lea.ask_lesc(lea.nlets_iaq(sent.ori, sent.booking["person"], tcr=sent.tcn)).status_code
    expect(
        code < 300 or 400 <= code < 500,
        f"LEA {sent.ori}'s name-based IAQ naming {sent.tcn}, sent before its IDENT result, was "
        f"answered HTTP {code}: refuse it with a 4xx, or hold it until the no-match IDR",
    )
    traffic.watch.quiet("nlets")
    idr = _no_match_idrs(traffic, sent)
    first = min(idr, key=lambda e: parse_gmt(e["virtual_time"]))
    came = parse_gmt(first["virtual_time"])
    traffic.watch.quiet("nlets")
    about = _about(mocks, sent.booking["person"])
    early = [e for e in about if parse_gmt(e["virtual_time"]) < came]
    expect(
        not early,
        f"LESC received a name-based IAQ about booking {sent.booking['booking_id']} of LEA "
        f"{sent.ori} at {', '.join(str(e['virtual_time']) for e in early)}, before its no-match "
        f"IDR came ({first['virtual_time']}): an LEA's query by name follows the no-match IDR",
        evidence=[e["id"] for e in early] + [e["id"] for e in idr],
    )


@pytest.mark.requirement("NLT-4")
def test_no_iaq_for_an_lea_that_did_not_ask(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    county = [o for o in oris if ori_county(o) == ori_county(oris[0])]
    asker = county[-1] if len(county) > 1 else oris[0]
    sent = _booked_no_match(traffic, mocks, lea, asker)
    iaq = _ask(lea, sent)
    found = _at_lesc(traffic, mocks, sent.booking["person"])
    unasked = [e for e in found if e["message"]["header"].get("mid") != iaq["header"]["mid"]]
    expect(
        not unasked,
        f"LEA {asker} asked LESC once by name ({iaq['header']['mid']}), yet LESC received "
        f"{len(unasked)} more IAQ(s) about the subject under ORI(s) "
        f"{', '.join(sorted({str(e['ori']) for e in unasked}))}, which did not ask",
        evidence=[e["id"] for e in found],
    )


@pytest.mark.requirement("NLT-5")
def test_no_blind_booking_iaq_from_an_lea_that_retired_it(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    kept = set(sut_profile.get("blind_booking_oris", []))
    retired = [o for o in oris if o not in kept]
    if not retired:
        pytest.skip("every LEA of the SUT profile keeps blind booking (blind_booking_oris)")
    ori = retired[0]
    people = [lea.synth.person(pob=pob) for pob in (POB_UNKNOWN, "MM", "GT")]
    sent = traffic.book_all([lea.booking(ori, person=p) for p in people])
    traffic.run(HOUR)
    traffic.watch.quiet("nlets")
    found = [e for p in people for e in _about(mocks, p)]
    expect(
        not found,
        f"LEA {ori} retired blind booking (it is not in the profile's blind_booking_oris), yet "
        f"LESC received {len(found)} automated IAQ(s) for its bookings of subjects born "
        f"{', '.join(sorted({str(e['message']['txt']['pob']) for e in found}))} "
        f"({', '.join(s.tcn for s in sent)}): the fingerprint path replaces them (SOP 2.2.7)",
        evidence=[e["id"] for e in found],
    )


@pytest.mark.requirement("NLT-6")
def test_pob_unknown_goes_by_fingerprints(
    traffic: Traffic, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    booking = lea.booking(oris[0], person=lea.synth.person(pob=POB_UNKNOWN))
    (sent,) = traffic.book_all([booking])
    expect(
        sent.tot == "CAR" and isinstance(sent.message.get("prints"), dict),
        f"a booking with place of birth unknown went as {sent.tot} {sent.tcn} without prints; it "
        "goes by fingerprints as any other",
        evidence=[sent.entry["id"]],
    )
    names_the_lea(sent, f"the CAR {sent.tcn} for a booking with place of birth unknown")
    if sut_profile["message_routing"]:
        sre_reaches_each_booker(traffic, [sent], "a booking with place of birth unknown")
