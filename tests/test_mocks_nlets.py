"""The mock NLETS and the LESC behind it: a name-based IAQ taken, ledgered and answered on the
virtual clock with a name-based IAR to the switch's NLETS port, for the querying LEA (SOP 2.2.7)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import schemas
from conformance.figure1 import metrics
from mocks.agencies.ident import IdentRepository
from mocks.agencies.nlets import IAQ_CHANNEL, IAR_CHANNEL, nlets_port
from mocks.api.app import create_app
from mocks.api.nlets import Nlets
from mocks.state.service import MockService
from synthetic import Synthesizer
from tests.conftest import CALLBACK, START, manual_clock

pytestmark = pytest.mark.anyio

PORT = "http://sib.test/nlets/responses"


class Port:
    """Stands in for the SIB: records what reaches its NLETS port and its CJIS callback."""

    def __init__(self) -> None:
        self.nlets: list[dict[str, Any]] = []
        self.cjis: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == PORT:
            self.nlets.append(json.loads(request.content))
        else:
            self.cjis.append(request)
        return httpx.Response(200)


Start = Callable[..., Any]


@pytest.fixture
async def nlets() -> AsyncIterator[tuple[Start, Port]]:
    port = Port()
    services: list[tuple[MockService, httpx.AsyncClient]] = []

    async def start(scenario: dict[str, Any] | None = None) -> httpx.AsyncClient:
        service = MockService(
            clock=manual_clock(),
            scenario=scenario or {},
            callback=CALLBACK,
            transport=httpx.MockTransport(port),
        )
        await service.start()
        app = create_app(service)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://mocks.test"
        )
        client.service = service  # type: ignore[attr-defined]
        services.append((service, client))
        return client

    yield start, port
    for service, client in services:
        await client.aclose()
        await service.stop()


def _iaq(n: int = 1, ori: str = "NC0920000", **txt: Any) -> dict[str, Any]:
    synth = Synthesizer(n)
    person = synth.person()
    when = manual_clock().now()
    iaq = synth.nlets_iaq(person, ori=ori, mid=f"{ori}-NQ-{n:06d}", gmt=when)
    iaq["txt"].update(txt)
    return iaq


async def _advance(client: httpx.AsyncClient, seconds: float) -> None:
    await client.service.advance(seconds)  # type: ignore[attr-defined]


async def test_an_iaq_is_answered_by_a_name_based_iar_for_the_querying_lea_alone(
    nlets: tuple[Start, Port],
) -> None:
    start, port = nlets
    client = await start()
    iaq = _iaq()
    response = await client.post("/nlets/messages", json=iaq)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted"
    ledger = client.service.ledger
    (taken,) = (await ledger.page(channel=IAQ_CHANNEL)).rows
    assert (taken.tot, taken.ori, taken.tcn) == ("NLETS-IAQ", "NC0920000", iaq["header"]["mid"])
    await _advance(client, 1799)
    assert port.nlets == []
    await _advance(client, 1)
    (iar,) = port.nlets
    assert schemas.problems("nlets-iar", iar) == []
    assert iar["header"]["dst"] == "NC0920000"
    assert iar["header"]["mir"] == iaq["header"]["mid"]
    answered = datetime.fromisoformat(START) + timedelta(minutes=30)  # the profile's nlets_iar
    assert iar["header"]["gmt"] == answered.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (iar["txt"]["basis"], iar["txt"]["confirmed"]) == ("name", False)
    assert port.cjis == []
    (sent,) = (await ledger.page(channel=IAR_CHANNEL)).rows
    assert (sent.tot, sent.ori, sent.tcr) == ("NLETS-IAR", "NC0920000", iaq["header"]["mid"])
    by_tot = (await client.get("/admin/ledger", params={"tot": "NLETS-IAQ"})).json()["entries"]
    assert [e["message"] for e in by_tot] == [iaq]


async def test_a_bad_iaq_is_a_400_naming_the_field_and_rule(nlets: tuple[Start, Port]) -> None:
    start, _ = nlets
    client = await start()
    iaq = _iaq()
    del iaq["txt"]["pob"]
    response = await client.post("/nlets/messages", json=iaq)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {(e["path"], e["rule"]) for e in errors} == {("$.txt.pob", "required")}


async def test_the_same_iaq_twice_is_one_query(nlets: tuple[Start, Port]) -> None:
    start, port = nlets
    client = await start()
    iaq = _iaq()
    await client.post("/nlets/messages", json=iaq)
    again = await client.post("/nlets/messages", json=iaq)
    assert again.json()["status"] == "duplicate"
    await _advance(client, 3600)
    assert len(port.nlets) == 1


async def test_faults_nlets_down_then_up_and_lesc_silent(nlets: tuple[Start, Port]) -> None:
    start, port = nlets
    down = {"when": {"ori": "NC0920000"}, "faults": [{"kind": "nlets-unavailable", "times": 2}]}
    silent = {"when": {"ori": "NC0410000"}, "faults": [{"kind": "nlets-no-answer"}]}
    client = await start({"overrides": [down, silent]})
    iaq = _iaq()
    codes = [(await client.post("/nlets/messages", json=iaq)).status_code for _ in range(3)]
    assert codes == [503, 503, 202]
    quiet = _iaq(2, ori="NC0410000")
    assert (await client.post("/nlets/messages", json=quiet)).status_code == 202
    await _advance(client, 3600)
    assert [m["header"]["dst"] for m in port.nlets] == ["NC0920000"]


async def test_the_timing_profile_sets_lescs_delay(nlets: tuple[Start, Port]) -> None:
    start, port = nlets
    steps = {s: {"fixed": 900} for s in ("sre", "idr", "iar", "idr_alone_after")}
    steps.update(no_match_idr={"fixed": 900}, errt={"fixed": 5}, nlets_iar={"fixed": 60})
    client = await start({"timing": {"name": "quick", "steps": steps}})
    await client.post("/nlets/messages", json=_iaq())
    await _advance(client, 59)
    assert port.nlets == []
    await _advance(client, 1)
    assert len(port.nlets) == 1


def test_the_name_search_finds_aliases_and_near_matches_the_same_every_time() -> None:
    repository = IdentRepository(7, {})
    synth = Synthesizer(3)
    found: dict[str, int] = {}
    for _ in range(200):
        person = synth.person()
        query = {f: person[f] for f in ("nam", "dob", "sex", "pob")}
        candidates = repository.name_search(query)
        assert candidates == repository.name_search(query)
        for candidate in candidates:
            found[candidate["match"]] = found.get(candidate["match"], 0) + 1
            assert schemas.problems("nlets-iar.json#/$defs/candidate", candidate) == []
            if candidate["match"] == "alias":
                assert candidate["aka"] == [query["nam"]] != [candidate["nam"]]
            if candidate["match"] == "near":
                assert candidate["differs"]
    assert set(found) == {"name", "alias", "near"}


def test_the_nlets_port_is_given_or_beside_the_http_callback() -> None:
    assert nlets_port({}, CALLBACK) == PORT
    assert nlets_port({"sut_nlets": "http://x.test/n"}, CALLBACK) == "http://x.test/n"
    assert nlets_port({}, "mailto:sib@nc.test?relay=127.0.0.1:2525") is None
    assert nlets_port({}, f"ebts+{CALLBACK}") == PORT  # CJIS answers in EBTS, NLETS in JSON


async def test_the_openapi_document_names_the_nlets_path(nlets: tuple[Start, Port]) -> None:
    start, _ = nlets
    client = await start()
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/nlets/messages"]["post"]
    assert set(operation["responses"]) == {"202", "400", "413", "503"}
    assert "nlets-iaq" in json.dumps(operation["requestBody"])


def test_figure_1_counts_nlets_iaqs_and_answers_beside_the_fingerprint_path(
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "ledger.sqlite3"

    async def run() -> None:
        service = MockService(
            clock=manual_clock(),
            scenario={},
            ledger=ledger,
            callback=CALLBACK,
            transport=httpx.MockTransport(Port()),
        )
        async with service:
            nlets = Nlets(service)
            for n in range(1, 7):
                await nlets.take(_iaq(n))
            await service.advance(3600)

    asyncio.run(run())
    total = metrics(ledger)["total"]
    assert total["nlets_iaqs"] == 6
    assert total["nlets_candidates"] + total["nlets_no_record"] == 6
    assert total["transmissions"] == 0
