"""Schemathesis against the mocks' /openapi.json, over a real socket: no 5xx, responses conform,
with schema-valid (positive) and schema-breaking (negative) requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
import respx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from mocks.api.openapi import openapi
from mocks.servers.server import serving
from mocks.state.service import MockService
from tests.conftest import manual_clock

schemathesis.openapi.format(
    "ebts-date",
    st.dates(date(1800, 1, 1), date(2199, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
)
SCHEMA = schemathesis.openapi.from_dict(openapi())
OPERATIONS = [
    (op.path, op.method.upper())
    for op in (result.ok() for result in SCHEMA.get_all_operations())  # type: ignore[union-attr]
]
WITH_BODY = {(p, m) for p, m in OPERATIONS if SCHEMA[p][m].body}
WITH_INPUT = WITH_BODY | {
    (p, m) for p, m in OPERATIONS if SCHEMA[p][m].definition.raw.get("parameters")
}
EXAMPLES = 120
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
# Negative requests need something to break: a body or a parameter.
RUNS = [
    (path, method, mode)
    for path, method in OPERATIONS
    for mode in MODES
    if mode is GenerationMode.POSITIVE or (path, method) in WITH_INPUT
]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    # Generated scenarios name random callback URLs: deliveries stay in process, every one taken.
    sib = respx.MockRouter(assert_all_called=False)
    sib.route().respond(200)
    service = MockService(
        clock=manual_clock(),
        scenario={"ident": {"match_rate": 0.5}},
        transport=httpx.MockTransport(sib.async_handler),
    )
    with serving(service) as url:
        yield url


def test_the_run_sends_over_a_thousand_generated_requests() -> None:
    assert len(WITH_BODY) * len(MODES) * EXAMPLES * 0.8 >= 1000
    assert len(OPERATIONS) >= 12


@pytest.mark.parametrize(
    ("path", "method", "mode"), RUNS, ids=[f"{m} {p} {mode.value}" for p, m, mode in RUNS]
)
def test_operation_conforms_and_never_answers_5xx(
    base_url: str, path: str, method: str, mode: GenerationMode
) -> None:
    operation = SCHEMA[path][method]
    excluded: list[Any] = []
    if path == "/cjis/submissions":
        # A CAR or CPI that breaks an EBTS rule is acknowledged, then answered by an ERRT.
        excluded.append(negative_data_rejection)
    if path == "/admin/scenario":
        # A uniform delay with low above high passes JSON Schema (which cannot compare two
        # fields) and is refused with a 400 naming the field and the rule.
        excluded.append(positive_data_acceptance)
    sent: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: schemathesis.Case[Any]) -> None:
        # An EBTS transaction is a string to JSON Schema: a generated one is never a readable
        # file, and is refused (400, an ERRT) however schema-valid.
        ebts = case.media_type is not None and "json" not in case.media_type
        checks = [*excluded, positive_data_acceptance] if ebts else excluded
        response = case.call_and_validate(base_url=base_url, excluded_checks=checks, timeout=10)
        assert response.status_code < 500
        sent.append(response.status_code)

    run()
    if (path, method) in WITH_BODY:
        assert len(sent) >= EXAMPLES * 0.8, sent
    else:
        assert sent
