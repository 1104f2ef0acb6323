"""ORI handling: the SIB forwards a booking under the ORI the LEA gave, or refuses it; it never
forwards under another. A malformed ORI it may not mend; a well-formed ORI outside its state it
refuses (4xx) or forwards as given; an in-state ORI not activated for Interoperability it forwards
to IAFIS as given (docs/sib-contract.md, "ORIs")."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.finding import expect
from conformance.harness import Lea
from conformance.traffic import Traffic

from ._helpers import names_the_lea, refused_not_forwarded, sre_reaches_each_booker

_GARBLES = ("lower-case", "padded", "inner-blank")


@pytest.mark.requirement("ORI-1")
@pytest.mark.parametrize("garble", _GARBLES)
def test_fixable_malformed_ori_is_refused_not_mended(
    traffic: Traffic, lea: Lea, oris: list[str], garble: str
) -> None:
    booking = lea.booking(oris[0])
    booking["ori"] = lea.synth.fixable_misspellings(oris[0])[garble]
    said = f"a booking whose ORI is {booking['ori']!r} ({oris[0]} {garble.replace('-', ' ')})"
    refused_not_forwarded(traffic, lea, booking, "ori", said)


@pytest.mark.requirement("ORI-2")
def test_out_of_state_ori_is_refused_or_forwarded_as_given(
    traffic: Traffic, lea: Lea, sut_profile: dict[str, Any]
) -> None:
    state = sut_profile["state"]
    booking = lea.booking(lea.synth.other_state_ori(state))
    said = f"a booking from LEA {booking['ori']}, outside {state},"
    response = lea.book(booking)
    code = response.status_code
    expect(
        code < 300 or 400 <= code < 500,
        f"{said} was answered HTTP {code}: a SIB refuses it with a 4xx naming the ori, or "
        f"forwards it; never a 5xx (a 5xx says 'try again', and it will fail again)",
    )
    if code >= 400:
        refused_not_forwarded(traffic, lea, booking, "ori", said)
        return
    (sent,) = traffic.forwarded([booking])
    names_the_lea(sent, f"{said} taken and sent as the {sent.tot} {sent.tcn},")


@pytest.mark.requirement("ORI-3")
def test_non_activated_ori_goes_to_iafis_as_given(
    traffic: Traffic, lea: Lea, sut_profile: dict[str, Any]
) -> None:
    listed = list(sut_profile.get("non_activated_oris", []))
    if not listed:
        pytest.skip("the SUT profile lists no non_activated_oris (in-state LEAs not activated)")
    sent = traffic.book_all([lea.booking(ori) for ori in listed[:3]])
    for s in sent:
        said = f"the {s.tot} {s.tcn} for booking {s.booking['booking_id']} of LEA {s.ori} (in "
        names_the_lea(s, said + "state, not activated for Interoperability)")
    if sut_profile["message_routing"]:
        sre_reaches_each_booker(traffic, sent, "an LEA not activated for Interoperability")
