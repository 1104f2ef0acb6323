"""Robustness: CJIS outages, permanent errors, bad deliveries, generated bookings."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

import schemas
from conformance.harness import Lea, Mocks

from ._helpers import match, submission_for

schemathesis.openapi.format(
    "ebts-date",
    st.dates(date(1800, 1, 1), date(2199, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
)
_SIB = schemathesis.openapi.from_dict(schemas.openapi("sib"))


@pytest.mark.requirement("ROB-1")
def test_cjis_outage_is_retried_with_the_same_tcn(mocks: Mocks, lea: Lea, oris: list[str]) -> None:
    key = lea.synth.biometric_key()
    outage = {"when": {"biometric_key": key}, "faults": [{"kind": "http-503", "times": 2}]}
    mocks.reset(overrides=[outage])
    response = lea.book(lea.booking(oris[0], key=key))
    refused = mocks.refused()
    assert len(refused) == 2, f"CJIS answered 503 {len(refused)} times"
    taken = submission_for(mocks, key)
    assert len(taken) == 1, f"the SIB gave up (HTTP {response.status_code})"
    assert {e["tcn"] for e in refused} == {taken[0]["type1"]["tcn"]}


@pytest.mark.requirement("ROB-2")
def test_permanent_errt_is_not_resubmitted(mocks: Mocks, lea: Lea, oris: list[str]) -> None:
    key = lea.synth.biometric_key()
    fault = {"kind": "errt", "code": "E0002", "field": "$.type2.pob", "permanent": True}
    mocks.reset(overrides=[{"when": {"biometric_key": key}, "faults": [fault]}])
    assert lea.book(lea.booking(oris[0], key=key)).status_code < 300
    mocks.advance(60)
    mocks.settle(lambda: len(submission_for(mocks, key)) > 1, timeout=1.0)
    mocks.advance(3600)
    sent = submission_for(mocks, key)
    bodies = {
        json.dumps({k: v for k, v in m.items() if k != "type1"}, sort_keys=True) for m in sent
    }
    assert len(sent) == 1, f"sent {len(sent)} times after a permanent ERRT ({len(bodies)} bodies)"


@pytest.mark.requirement("ROB-3")
def test_bad_delivery_does_not_take_the_sib_down(
    mocks: Mocks, lea: Lea, oris: list[str], sut_profile: dict[str, Any]
) -> None:
    key = lea.synth.biometric_key()
    faults = [{"kind": "malformed-delivery"}, {"kind": "invalid-delivery"}]
    mocks.reset(overrides=[match(key, faults=faults)])
    assert lea.book(lea.booking(oris[0], key=key)).status_code < 300
    mocks.advance(5 * 3600)
    refused = [e for e in mocks.delivered() if (e["delivery"] or {}).get("last_error")]
    assert len(refused) == 2, "the SIB took a delivery that is not JSON or breaks its schema"
    later = lea.booking(oris[-1])
    answer = lea.book(later)
    assert answer.status_code < 300, f"after a bad delivery the SIB answers {answer.status_code}"
    assert submission_for(mocks, later["prints"]["biometric_key"])


@pytest.mark.requirement("ROB-4")
def test_generated_bookings_never_get_5xx(mocks: Mocks, sut_url: str) -> None:
    operation = _SIB["/bookings"]["POST"]
    answered: list[int] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=(Phase.generate,),
            report_multiple_bugs=False,
        )
        def send(case: schemathesis.Case[Any]) -> None:
            try:
                response = case.call(base_url=sut_url, timeout=30)
            except requests.RequestException as exc:
                raise AssertionError(f"the SIB dropped the connection: {exc}") from exc
            answered.append(response.status_code)
            assert response.status_code < 500, f"HTTP {response.status_code} for {case.body!r:.300}"

        send()
    assert len(answered) >= 60
