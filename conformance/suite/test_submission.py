"""What the SIB sends CJIS: valid messages, the right header, the subject whole, unique TCNs, and
nothing for a malformed booking."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import schemas
from conformance.finding import expect
from conformance.harness import Lea
from conformance.traffic import Traffic, is_for

from ._helpers import names_the_lea, refused_not_forwarded


@pytest.mark.requirement("SUB-1")
def test_every_submission_validates(traffic: Traffic, lea: Lea, oris: list[str]) -> None:
    first = lea.booking(oris[0], days_ago=2)
    sent = traffic.book_all([first, lea.booking(oris[-1]), lea.booking(oris[1 % len(oris)])])
    traffic.run(300)
    traffic.learned(sent[0])
    repeat = lea.booking(oris[-1], person=first["person"], prior=True)
    sent += traffic.book_all([repeat, lea.booking(oris[0], days_ago=1)])
    for s in sent:
        found = schemas.problems("submission", s.message)
        expect(
            not found,
            f"the {s.tot} {s.tcn} the SIB sent for booking {s.booking['booking_id']} of LEA "
            f"{s.ori} is not a valid CAR or CPI: " + "; ".join(str(p) for p in found[:3]),
            evidence=[s.entry["id"]],
        )


@pytest.mark.requirement("SUB-2")
def test_car_names_the_lea_cjis_and_the_arrest_date(
    traffic: Traffic, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    dai = sut_profile.get("cjis_dai", "WVIAFIS0Z")
    bookings = [lea.booking(ori, days_ago=d) for ori, d in zip(oris * 3, (0, 3, 6), strict=False)]
    for s in traffic.book_all(bookings):
        header, type2 = s.message["type1"], s.message["type2"]
        said = (
            f"the {s.tot} {s.tcn} for booking {s.booking['booking_id']} of LEA {s.ori}, "
            f"arrested {s.booking['doa']},"
        )
        evidence = [s.entry["id"]]
        expect(s.tot == "CAR", f"{said} went as {s.tot}, not as a CAR", evidence=evidence)
        names_the_lea(s, said)
        expect(
            header.get("dai") == dai,
            f"{said} is addressed to {header.get('dai')}, not to CJIS ({dai})",
            evidence=evidence,
        )
        expect(
            type2.get("doa") == s.booking["doa"],
            f"{said} carries date of arrest {type2.get('doa')}",
            evidence=evidence,
        )


@pytest.mark.requirement("SUB-3")
def test_every_tcn_is_unique(traffic: Traffic, lea: Lea, oris: list[str]) -> None:
    bookings = [lea.booking(oris[i % len(oris)]) for i in range(12)]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(traffic.post, bookings))

    def taken() -> list[dict[str, Any]]:
        return [e for e in traffic.mocks.entries(channel="cjis") if any(
            is_for(e["message"], b) for b in bookings)]  # fmt: skip

    traffic.watch.until(lambda: len(taken()) >= len(bookings), "forward")
    entries = taken()
    tcns = [str(e["tcn"]) for e in entries]
    expect(
        len(entries) >= len(bookings) and len(set(tcns)) == len(tcns),
        f"12 bookings, 6 at a time, reached CJIS as {len(entries)} submissions under "
        f"{len(set(tcns))} distinct TCNs (CJIS takes a TCN once: a TCN used again loses the "
        f"booking): {sorted(tcns)}",
        evidence=[e["id"] for e in entries],
    )


@pytest.mark.requirement("SUB-4")
@pytest.mark.parametrize("broken", ["date-of-arrest", "sex-code", "no-charges"])
def test_malformed_booking_is_refused_not_forwarded(
    traffic: Traffic, lea: Lea, oris: list[str], broken: str
) -> None:
    booking = lea.booking(oris[0])
    field = {"date-of-arrest": "doa", "sex-code": "sex", "no-charges": "charges"}[broken]
    if broken == "date-of-arrest":
        booking["doa"] = "25/11/2026"
    elif broken == "sex-code":
        booking["person"]["sex"] = "male"
    else:
        booking["charges"] = []
    refused_not_forwarded(
        traffic, lea, booking, field, f"a booking of LEA {booking['ori']} with a malformed {field}"
    )


@pytest.mark.requirement("SUB-5")
def test_car_carries_every_alias_and_charge(traffic: Traffic, lea: Lea, oris: list[str]) -> None:
    people = (lea.synth.person() for _ in range(200))
    person = next(p for p in people if p.get("aka"))
    booking = lea.booking(oris[0], person=person, charges=3)
    sent = traffic.book(booking)
    type2 = sent.message["type2"]
    said = f"the CAR {sent.tcn} for booking {booking['booking_id']} of LEA {sent.ori}"
    for field in ("nam", "dob", "pob", "sex"):
        expect(
            type2.get(field) == person[field],
            f"{said} gives {field} {type2.get(field)!r}; the LEA booked {person[field]!r}",
            evidence=[sent.entry["id"]],
        )
    expect(
        type2.get("aka") == person["aka"],
        f"{said} carries aliases {type2.get('aka')}; the LEA booked {person['aka']}",
        evidence=[sent.entry["id"]],
    )
    expect(
        type2.get("asl") == booking["charges"],
        f"{said} carries {len(type2.get('asl') or [])} charge(s) "
        f"{[c.get('ncic') for c in type2.get('asl') or []]}; the LEA booked "
        f"{[c['ncic'] for c in booking['charges']]}",
        evidence=[sent.entry["id"]],
    )
