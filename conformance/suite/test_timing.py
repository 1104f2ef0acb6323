"""Timing: responses at 15 minutes, 4 hours and 24 hours, duplicates and parts out of order."""

from __future__ import annotations

from collections import Counter

import pytest

from conformance.harness import Lea, Mocks, kind_of

from ._helpers import match, routed_kinds


def _second(kinds: list[str]) -> list[str]:
    return [k for k in kinds if k != "SRE"]


@pytest.mark.requirement("TIM-1")
def test_responses_on_time_are_routed(mocks: Mocks, lea: Lea, oris: list[str]) -> None:
    hit, miss = lea.synth.biometric_key(), lea.synth.biometric_key()
    no_match = {"when": {"biometric_key": miss}, "outcome": {"ident": "no-match"}}
    mocks.reset(overrides=[match(hit), no_match])
    ori_hit, ori_miss = oris[0], oris[-1]
    assert lea.book(lea.booking(ori_miss, key=miss)).status_code < 300
    assert lea.book(lea.booking(ori_hit, key=hit)).status_code < 300
    mocks.advance(15 * 60)
    mocks.settle(lambda: bool(_second(routed_kinds(mocks, ori_miss))))
    assert _second(routed_kinds(mocks, ori_miss)) in (["IDR"], ["SRE+IDR"])
    mocks.advance(4 * 3600 - 15 * 60)
    mocks.settle(lambda: len(_second(routed_kinds(mocks, ori_hit))) >= 1 + (ori_hit == ori_miss))
    assert [k for k in _second(routed_kinds(mocks, ori_hit)) if "IAR" in k] in (
        ["IDR/IAR"],
        ["SRE+IDR/IAR"],
    )


@pytest.mark.requirement("TIM-2")
def test_idr_alone_at_24_hours_and_late_iar_are_routed(
    mocks: Mocks, lea: Lea, oris: list[str]
) -> None:
    key = lea.synth.biometric_key()
    mocks.reset(overrides=[match(key, timing="slow-iar", late_iar="deliver")])
    ori = oris[0]
    assert lea.book(lea.booking(ori, key=key)).status_code < 300
    mocks.advance(24 * 3600)
    mocks.settle(lambda: bool(_second(routed_kinds(mocks, ori))))
    assert _second(routed_kinds(mocks, ori)) in (["IDR"], ["SRE+IDR"]), "IDR alone not routed"
    mocks.advance(2 * 3600)
    mocks.settle(lambda: "IAR" in routed_kinds(mocks, ori))
    assert _second(routed_kinds(mocks, ori))[-1:] == ["IAR"], "the late IAR was not routed"


@pytest.mark.requirement("TIM-3")
def test_duplicate_delivery_is_routed_once(mocks: Mocks, lea: Lea, oris: list[str]) -> None:
    key = lea.synth.biometric_key()
    mocks.reset(overrides=[match(key, faults=[{"kind": "duplicate-delivery"}])])
    ori = oris[0]
    assert lea.book(lea.booking(ori, key=key)).status_code < 300
    mocks.advance(5 * 3600)
    mocks.settle(lambda: len(routed_kinds(mocks, ori)) >= 2, timeout=2)
    mocks.settle(lambda: False, timeout=0.3)
    copies = Counter(m["type1"]["tcn"] for m in mocks.routed().get(ori, []))
    assert copies, "nothing was routed"
    assert set(copies.values()) == {1}, f"routed more than once: {copies}"


@pytest.mark.requirement("TIM-4")
def test_iar_before_idr_both_routed(mocks: Mocks, lea: Lea, oris: list[str]) -> None:
    key = lea.synth.biometric_key()
    mocks.reset(overrides=[match(key, faults=[{"kind": "out-of-order"}])])
    ori = oris[0]
    assert lea.book(lea.booking(ori, key=key)).status_code < 300
    mocks.advance(5 * 3600)
    mocks.settle(lambda: len(_second(routed_kinds(mocks, ori))) >= 2)
    kinds = _second(routed_kinds(mocks, ori))
    assert kinds in (["IAR", "IDR"], ["IAR", "SRE+IDR"]), kinds
    assert kind_of(mocks.delivered()[1]["message"]) == "IAR"
