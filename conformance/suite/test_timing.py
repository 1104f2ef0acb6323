"""Timing: responses at 15 minutes, 4 hours, 24 hours and a late IAR, each routed within its
budget; duplicates (one after the other and concurrent) and parts out of order."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from conformance.finding import expect
from conformance.harness import Lea, Mocks
from conformance.traffic import Sent, Traffic
from protocol.submission import kind_of

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
    mocks.scenario(overrides=[match(hit), no_match(miss)])
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
    mocks.scenario(overrides=[match(key, timing=slow_iar(iar_at), late_iar="deliver")])
    sent = traffic.book(lea.booking(oris[0], key=key))
    traffic.run(24 * HOUR)
    _arrives(traffic, sent, ident_kind(sut_profile["nff"], iar=False), "alone at 24 hours")
    traffic.run((iar_at - 24) * HOUR)
    _arrives(traffic, sent, "IAR", f"late, {iar_at:.0f} hours after the submission")


@pytest.mark.requirement("TIM-3")
def test_duplicate_delivery_is_routed_once(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    one, two = lea.synth.biometric_key(), lea.synth.biometric_key()
    mocks.scenario(overrides=[match(one, faults=[{"kind": "duplicate-delivery"}]), match(two)])
    first = traffic.book(lea.booking(oris[0], key=one))
    traffic.run(5 * HOUR)
    traffic.await_routed(first.ori, ["SRE", ident_kind(sut_profile["nff"], iar=True)], first)
    seen = acked(traffic.deliveries(first))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(mocks.redeliver, [e for e in seen for _ in range(3)]))
        # CJIS answers the second booking while the SIB is away (its deliveries go to an inbox
        # nobody reads), then delivers each answer four times at once: the first arrival is
        # concurrent.
        mocks.scenario(sut_callback=f"{mocks.base_url}/lea/{_NOBODY}/inbox", overrides=[match(two)])
        second = traffic.book(lea.booking(oris[-1], key=two))
        traffic.run(5 * HOUR)
        mocks.scenario()
        fresh = traffic.deliveries(second)
        list(pool.map(mocks.redeliver, [e for e in fresh for _ in range(4)]))
    traffic.watch.until(lambda: len(_copies(traffic, second)) >= len(fresh), "route")
    traffic.watch.quiet("route")
    for sent, entries, how in (
        (first, seen, "twice, then three more times at once"),
        (second, fresh, "four times at once"),
    ):
        copies = _copies(traffic, sent)
        for entry in entries:
            n = copies[entry["message"]["type1"]["tcn"]]
            expect(
                n == 1,
                f"CJIS delivered the {kind_of(entry['message'])} {entry['id']} answering "
                f"{sent.tcn} {how}; LEA {sent.ori} received it {n} times, not once",
                evidence=[entry["id"], *[e["id"] for e in traffic.routed(sent)]],
            )


_NOBODY = "ZZ0000000"
"""An LEA inbox no check reads: where CJIS's deliveries go while the SIB is away."""


def _copies(traffic: Traffic, sent: Sent) -> Counter[str]:
    """How many times LEA `sent.ori` received each message about `sent`, by message TCN."""
    return Counter(
        str(e["message"]["type1"]["tcn"])
        for e in traffic.routed(sent)
        if e["channel"] == f"lea:{sent.ori}"
    )


@pytest.mark.requirement("TIM-4")
def test_iar_before_idr_both_routed(
    traffic: Traffic, mocks: Mocks, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    key = lea.synth.biometric_key()
    mocks.scenario(overrides=[match(key, faults=[{"kind": "out-of-order"}])])
    sent = traffic.book(lea.booking(oris[0], key=key))
    traffic.run(5 * HOUR)
    first = [kind_of(e["message"]) for e in traffic.deliveries(sent)]
    if "IAR" not in first:
        raise RuntimeError(f"the mocks delivered {first}, not an IAR before its IDR")
    _arrives(traffic, sent, "IAR", "before its IDR")
    _arrives(traffic, sent, ident_kind(sut_profile["nff"], iar=False), "after its IAR")
