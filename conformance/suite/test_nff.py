"""National Fingerprint File: CAR at the first arrest, CPI after; the additional SRE."""

from __future__ import annotations

import pytest

from conformance.harness import Lea, Mocks

from ._helpers import match, routed_kinds


def _book_twice(mocks: Mocks, lea: Lea, ori: str) -> tuple[dict[str, object], dict[str, object]]:
    first = lea.booking(ori)
    assert lea.book(first).status_code < 300
    mocks.advance(300)
    repeat = lea.booking(ori, person=first["person"], prior=True)
    lea.book(repeat)
    return first, repeat


@pytest.mark.requirement("NFF-1")
def test_nff_repeat_arrest_goes_as_cpi(mocks: Mocks, lea: Lea, oris: list[str]) -> None:
    _, repeat = _book_twice(mocks, lea, oris[0])
    sent = mocks.submissions()
    assert [m["type1"]["tot"] for m in sent] == ["CAR", "CPI"]
    sre = next(e["message"] for e in mocks.delivered() if e["tot"] == "SRE")
    cpi = sent[1]["type2"]
    assert cpi.get("fbi") == sre["type2"]["fbi"], "the CPI must carry the FBI number"
    assert cpi["asl"] == repeat["charges"], "the CPI must carry the instant charges"
    assert cpi["doa"] == repeat["doa"]


@pytest.mark.requirement("NFF-2")
def test_non_nff_state_always_sends_a_car(mocks: Mocks, lea: Lea, oris: list[str]) -> None:
    _book_twice(mocks, lea, oris[0])
    assert [m["type1"]["tot"] for m in mocks.submissions()] == ["CAR", "CAR"]


@pytest.mark.requirement("NFF-3")
def test_nff_additional_sre_is_taken_and_routed(mocks: Mocks, lea: Lea, oris: list[str]) -> None:
    key = lea.synth.biometric_key()
    mocks.reset(overrides=[match(key)])
    assert lea.book(lea.booking(oris[0], key=key)).status_code < 300
    mocks.advance(5 * 3600)
    mocks.settle(lambda: len(routed_kinds(mocks, oris[0])) >= 2)
    assert routed_kinds(mocks, oris[0]) == ["SRE", "SRE+IDR/IAR"]
