"""Strict, total input handling: each bad input gets a 400 naming its rule, and no input can make
a later read fail; one accept per TCN under concurrency; tokens guard reads; pages are bounded."""

from __future__ import annotations

import asyncio
import json
import random
import re

import httpx
import pytest

from mocks._utils import orjson_reads_as_json, read_json
from mocks.servers.server import serving
from mocks.state.service import MockService
from mocks.transport.strictjson import MAX_DEPTH, JsonRuleError, loads
from synthetic import Synthesizer
from tests.conftest import MockApi, booking_car, manual_clock

pytestmark = pytest.mark.anyio

_NAN_CAR = b'{"type1": {"tcn": "NC0920000-20261123-000001", "pry": NaN}}'
BAD_BODIES = {
    "nan": (_NAN_CAR, "finite-number"),
    "infinity": (b'{"seconds": Infinity}', "finite-number"),
    "minus-infinity": (b"[-Infinity]", "finite-number"),
    "overflow": (b'{"seconds": 1e400}', "finite-number"),
    "lone-surrogate": (b'{"type1": {"nam": "A\\ud800B"}}', "unicode-scalar"),
    "lone-low-surrogate": (b'{"x\\udc00": 1}', "unicode-scalar"),
    "deep": (b"[" * 100_000 + b"]" * 100_000, "max-depth"),
    "just-too-deep": (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "max-depth"),
    "not-json": (b"{'single': 'quotes'}", "json"),
    "not-utf8": (b'{"a": "\xff"}', "json"),
}
PATHS = ("/cjis/submissions", "/lea/NC0920000/inbox", "/admin/clock/advance", "/admin/scenario")


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_strict_loads_names_the_rule(name: str) -> None:
    body, rule = BAD_BODIES[name]
    with pytest.raises(JsonRuleError) as refused:
        loads(body)
    assert refused.value.rule == rule


def test_strict_loads_takes_a_pair_of_surrogates_and_the_deepest_nesting_allowed() -> None:
    assert loads(b'"\\ud83d\\ude00"') == "\U0001f600"
    nested = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert json.dumps(loads(nested)).count("[") == MAX_DEPTH


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", sorted(BAD_BODIES))
async def test_each_bad_body_is_a_400_naming_its_rule_and_reads_still_work(
    mock_api: MockApi, name: str, path: str
) -> None:
    client = await mock_api()
    body, rule = BAD_BODIES[name]
    answer = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    problem = answer.json()
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["rule"] for e in problem["errors"]] == [rule]
    for read in ("/admin/ledger", "/lea/NC0920000/inbox", "/admin/scenario", "/health"):
        assert (await client.get(read)).status_code == 200


async def test_scenario_with_a_bad_callback_uri_is_refused(mock_api: MockApi) -> None:
    client = await mock_api()
    answer = await client.post("/admin/scenario", json={"sut_callback": "http://exa mple/x"})
    assert answer.status_code == 400
    assert "$.sut_callback" in {e["path"] for e in answer.json()["errors"]}
    assert (await client.get("/admin/scenario")).status_code == 200


async def test_reads_are_paged_with_a_cursor(mock_api: MockApi) -> None:
    client = await mock_api()
    for n in range(5):
        posted = await client.post("/lea/NC0920000/inbox", json={"n": n})
        assert posted.status_code == 202
    seen: list[int] = []
    after = 0
    while True:
        page = (
            await client.get("/lea/NC0920000/inbox", params={"after": after, "limit": 2})
        ).json()
        seen += [m["message"]["n"] for m in page["messages"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == [0, 1, 2, 3, 4]
    whole = (await client.get("/admin/ledger")).json()
    assert len(whole["entries"]) == 5
    assert whole["next"] is None
    bad = await client.get("/admin/ledger", params={"limit": "0"})
    assert bad.status_code == 400


async def test_with_a_token_the_inboxes_and_the_ledger_need_it(mock_api: MockApi) -> None:
    client = await mock_api(admin_token="s3cret")
    assert (await client.post("/lea/NC0920000/inbox", json={"n": 1})).status_code == 202
    for read in ("/lea/NC0920000/inbox", "/dro/inbox", "/admin/ledger"):
        assert (await client.get(read)).status_code == 401
        token = {"authorization": "Bearer s3cret"}
        assert (await client.get(read, headers=token)).status_code == 200


def test_fifty_concurrent_posts_of_one_new_tcn_are_one_accept() -> None:
    car = booking_car(Synthesizer(50))
    service = MockService(clock=manual_clock())

    async def post_all(url: str) -> list[str]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
            answers = await asyncio.gather(
                *(http.post("/cjis/submissions", json=car) for _ in range(50))
            )
        assert {a.status_code for a in answers} == {202}
        return [a.json()["status"] for a in answers]

    with serving(service) as url:
        statuses = asyncio.run(post_all(url))
        entries = httpx.get(f"{url}/admin/ledger", params={"channel": "cjis"}).json()["entries"]
    assert statuses.count("accepted") == 1
    assert statuses.count("duplicate") == 49
    assert len(entries) == 1


@pytest.mark.parametrize("kind", [str, bytes])
def test_a_long_integer_anywhere_is_read_as_json_reads_it(kind: type) -> None:

    pick = random.Random(22)
    runs = ["1" * 18, "1" * 19, "-" + "9" * 19 + ".5", "٣" * 19, '"' + "0" * 19 + '"']
    randoms = ("".join(pick.choice('0123456789 ,.-"é٣') for _ in range(pick.randrange(60)))
               for _ in range(2000))  # fmt: skip
    for text in [*runs, *(f"[{run}]" for run in runs), *randoms]:
        data = text.encode() if kind is bytes else text
        expected = re.search("[0-9]{19}", text) is None
        assert orjson_reads_as_json(data) is expected, text
    big = '{"n": 123456789012345678901, "m": [18446744073709551616]}'
    document = read_json(big.encode() if kind is bytes else big)
    assert document == {"n": 123456789012345678901, "m": [2**64]}
    assert isinstance(document["n"], int)
