"""Timing: responses at 15 minutes, 4 hours, 24 hours and a late IAR, each routed within its
budget; duplicates (one after the other and concurrent) and parts out of order."""

from __future__ import annotations

import copy
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from conformance.finding import expect
from conformance.harness import Lea, Mocks, kind_of
from conformance.traffic import Sent, Traffic

from ._helpers import HOUR, acked, ident_kind, match, no_match, slow_iar


def _arrives(traffic: Traffic, sent: Sent, kind: str, when: str) -> None:
    got = traffic.await_routed(sent.ori, [kind], sent)
    budget = traffic.watch.budget("route").within
    expect(
        kind in got,
        f"CJIS delivered the {kind} answering {sent.tcn} {when}; LEA {sent.ori} did not have "
        f"it {budget:.0f} s later (it had {got})",
        evidence=[e["id"] for e in traffic.deliveries(sent) + traffic.routed(sent)],
    )


@pytest.mark.requirement("TIM-1")
def test_responses_on_time_are_routed(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    nff = sut_profile["nff"]
    hit, miss = lea.synth.biometric_key(), lea.synth.biometric_key()
    mocks.reset(overrides=[match(hit), no_match(miss)])
    lost, found = traffic.book_all([lea.booking(oris[-1], key=miss), lea.booking(oris[0], key=hit)])
    traffic.run(15 * 60)
    _arrives(traffic, lost, ident_kind(nff, iar=False), "at 15 minutes")
    traffic.run(4 * HOUR - 15 * 60)
    _arrives(traffic, found, ident_kind(nff, iar=True), "at 4 hours")


@pytest.mark.requirement("TIM-2")
def test_idr_alone_at_24_hours_and_late_iar_are_routed(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    keep = traffic.watch.virtual("keep")
    iar_at = keep / HOUR - 1
    key = lea.synth.biometric_key()
    mocks.reset(overrides=[match(key, timing=slow_iar(iar_at), late_iar="deliver")])
    sent = traffic.book(lea.booking(oris[0], key=key))
    traffic.run(24 * HOUR)
    _arrives(traffic, sent, ident_kind(sut_profile["nff"], iar=False), "alone at 24 hours")
    traffic.run((iar_at - 24) * HOUR)
    _arrives(traffic, sent, "IAR", f"late, {iar_at:.0f} hours after the submission")


@pytest.mark.requirement("TIM-3")
def test_duplicate_delivery_is_routed_once(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    key = lea.synth.biometric_key()
    mocks.reset(overrides=[match(key, faults=[{"kind": "duplicate-delivery"}])])
    sent = traffic.book(lea.booking(oris[0], key=key))
    traffic.run(5 * HOUR)
    second = ident_kind(sut_profile["nff"], iar=True)
    traffic.await_routed(sent.ori, ["SRE", second], sent)
    owed = acked(traffic.deliveries(sent))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(mocks.redeliver, [e for e in owed for _ in range(3)]))
        fresh = copy.deepcopy(next(e for e in owed if kind_of(e["message"]) == "SRE"))
        fresh["message"]["type1"]["tcn"] = fresh["id"] = f"SRE-{lea.synth.rng.getrandbits(80):020X}"
        list(pool.map(mocks.redeliver, [fresh] * 4))
    traffic.watch.until(lambda: fresh["id"] in _copies(traffic, sent), "route")
    traffic.watch.quiet("route")
    routed = traffic.routed(sent)
    copies = _copies(traffic, sent)
    for entry in [*owed, fresh]:
        n = copies[entry["message"]["type1"]["tcn"]]
        how = "four times at once" if entry is fresh else "twice, then three more times at once"
        expect(
            n == 1,
            f"CJIS delivered the {kind_of(entry['message'])} {entry['id']} answering {sent.tcn} "
            f"{how}; LEA {sent.ori} received it {n} times, not once",
            evidence=[e["id"] for e in routed],
        )


def _copies(traffic: Traffic, sent: Sent) -> Counter[str]:
    return Counter(str(e["message"]["type1"]["tcn"]) for e in traffic.routed(sent))


@pytest.mark.requirement("TIM-4")
def test_iar_before_idr_both_routed(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    key = lea.synth.biometric_key()
    mocks.reset(overrides=[match(key, faults=[{"kind": "out-of-order"}])])
    sent = traffic.book(lea.booking(oris[0], key=key))
    traffic.run(5 * HOUR)
    first = [kind_of(e["message"]) for e in traffic.deliveries(sent)]
    if "IAR" not in first:
        raise RuntimeError(f"the mocks delivered {first}, not an IAR before its IDR")
    _arrives(traffic, sent, "IAR", "before its IDR")
    _arrives(traffic, sent, ident_kind(sut_profile["nff"], iar=False), "after its IAR")
