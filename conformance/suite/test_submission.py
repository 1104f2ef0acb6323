"""What the SIB sends CJIS: valid messages, the right header, unique TCNs, no malformed bookings."""

from __future__ import annotations

from typing import Any

import pytest

import schemas
from conformance.harness import Lea, Mocks


@pytest.mark.requirement("SUB-1")
def test_every_submission_validates(
    mocks: Mocks, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    first = lea.booking(oris[0])
    assert lea.book(first).status_code < 300
    for ori in oris[:3]:
        assert lea.book(lea.booking(ori)).status_code < 300
    mocks.advance(300)
    repeat = lea.booking(oris[0], person=first["person"], prior=True)
    lea.book(repeat)
    sent = mocks.submissions()
    assert len(sent) >= 4
    for message in sent:
        assert schemas.problems("submission", message) == [], message["type1"]


@pytest.mark.requirement("SUB-2")
def test_car_names_the_lea_cjis_and_the_arrest_date(
    mocks: Mocks, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    bookings = [lea.booking(ori) for ori in (oris * 3)[:3]]
    for booking in bookings:
        assert lea.book(booking).status_code < 300
    by_key = {m["prints"]["biometric_key"]: m for m in mocks.submissions() if "prints" in m}
    for booking in bookings:
        car = by_key[booking["prints"]["biometric_key"]]
        assert car["type1"]["tot"] == "CAR"
        assert car["type1"]["ori"] == booking["ori"], "CAR must carry the booking LEA's ORI"
        assert car["type2"]["cri"][0] == booking["ori"]
        assert car["type1"]["dai"] == sut_profile.get("cjis_dai", "WVIAFIS0Z")
        assert car["type2"]["doa"] == booking["doa"]
        assert car["type2"]["asl"] == booking["charges"]


@pytest.mark.requirement("SUB-3")
def test_every_tcn_is_unique(mocks: Mocks, lea: Lea, oris: list[str]) -> None:
    for i in range(6):
        assert lea.book(lea.booking(oris[i % len(oris)])).status_code < 300
    tcns = [m["type1"]["tcn"] for m in mocks.submissions()]
    assert len(tcns) == 6, f"CJIS took {len(tcns)} of 6 submissions: TCNs {tcns}"
    assert len(set(tcns)) == 6


@pytest.mark.requirement("SUB-4")
def test_malformed_booking_is_refused_not_forwarded(
    mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    booking = lea.booking(oris[0])
    booking["doa"] = "25/11/2026"
    booking["person"]["sex"] = "male"
    response = lea.book(booking)
    assert 400 <= response.status_code < 500, response.status_code
    assert "doa" in response.text or "sex" in response.text, "the answer names no field"
    assert mocks.submissions() == []
