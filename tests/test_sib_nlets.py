"""The reference SIB as its state's NLETS switch (SOP 2.2.7): an LEA's name-based IAQ refused
naming the field and rule, held back before the no-match IDR, relayed as sent; LESC's IAR to the
LEA that asked alone, once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import schemas
from conformance.run import profile_for
from sibs.reference import ReferenceSib
from synthetic import Synthesizer
from tests.conftest import manual_clock

pytestmark = pytest.mark.anyio

MOCKS = "http://mocks.test"


class Outside:
    """What the SIB sends out: to NLETS and to the LEA inboxes."""

    def __init__(self) -> None:
        self.nlets: list[dict[str, Any]] = []
        self.inboxes: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path == "/nlets/messages":
            self.nlets.append(body)
            return httpx.Response(202, json={"status": "accepted"})
        self.inboxes.append((request.url.path.split("/")[2], body))
        return httpx.Response(202, json={"id": "x"})


@pytest.fixture
async def switch() -> AsyncIterator[tuple[ReferenceSib, httpx.AsyncClient, Outside]]:
    outside = Outside()
    profile = profile_for("nff", mocks_url=MOCKS, sut_url="http://sib.test")
    sib = ReferenceSib(profile, cjis_url=MOCKS, transport=httpx.MockTransport(outside))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sib.app), base_url="http://sib")
    yield sib, client, outside
    await client.aclose()


def _iaq(ori: str = "NC0110000", tcr: str | None = None) -> dict[str, Any]:
    synth = Synthesizer(5)
    when = manual_clock().now()
    return synth.nlets_iaq(synth.person(), ori=ori, mid=f"{ori}-NQ-000001", gmt=when, tcr=tcr)


def _errors(response: httpx.Response) -> set[tuple[str, str]]:
    return {(e["path"], e["rule"]) for e in response.json()["errors"]}


async def test_a_bad_iaq_is_refused_naming_the_field_and_rule(
    switch: tuple[ReferenceSib, httpx.AsyncClient, Outside],
) -> None:
    _, client, outside = switch
    iaq = _iaq()
    del iaq["txt"]["pob"]
    response = await client.post("/nlets/iaq", json=iaq)
    assert response.status_code == 400
    assert _errors(response) == {("$.txt.pob", "required")}
    elsewhere = await client.post("/nlets/iaq", json=_iaq("VA0110000"))
    assert _errors(elsewhere) == {("$.header.ori", "state")}
    unknown = await client.post("/nlets/iaq", json=_iaq(tcr="NC0000000-X-00000001"))
    assert _errors(unknown) == {("$.txt.tcr", "transaction")}
    assert (await client.post("/nlets/iaq", content=b"{")).status_code == 400
    assert outside.nlets == []


async def test_an_iaq_goes_as_sent_and_only_after_its_no_match_idr(
    switch: tuple[ReferenceSib, httpx.AsyncClient, Outside],
) -> None:
    sib, client, outside = switch
    own = _iaq()
    assert (await client.post("/nlets/iaq", json=own)).json()["status"] == "relayed"
    assert outside.nlets == [own]
    synth = Synthesizer(6)
    booking = synth.booking("NC0110000", doa=manual_clock().now().date())
    sib.store.add("NC0000000-X-00000001", booking, "CAR", {})
    asked = _iaq(tcr="NC0000000-X-00000001")
    early = await client.post("/nlets/iaq", json=asked)
    assert early.status_code == 409
    assert "$.txt.tcr" in early.json()["detail"]
    sib.store.set_setting("ident:NC0000000-X-00000001", "no-match")
    assert (await client.post("/nlets/iaq", json=asked)).status_code == 202
    assert outside.nlets == [own, asked]


async def test_the_iar_goes_to_the_lea_that_asked_alone_and_once(
    switch: tuple[ReferenceSib, httpx.AsyncClient, Outside],
) -> None:
    _, client, outside = switch
    iaq = _iaq("NC0120000")
    await client.post("/nlets/iaq", json=iaq)
    iar = Synthesizer(7).nlets_iar(iaq, mid="VTLESC000-NR-0001", gmt=manual_clock().now(),
                                   candidates=[])  # fmt: skip
    assert schemas.problems("nlets-iar", iar) == []
    headers = {"x-interop-message-id": "VTLESC000-NR-0001"}
    for _ in range(2):
        await client.post("/nlets/responses", json=iar, headers=headers)
    assert outside.inboxes == [("NC0120000", iar)]
    stray = dict(iar, header={**iar["header"], "mir": "NC0120000-NQ-999999"})
    answer = await client.post(
        "/nlets/responses", json=stray, headers={"x-interop-message-id": "2"}
    )
    assert answer.json()["status"] == "unknown query"
    bad = await client.post("/nlets/responses", json={"header": {}})
    assert bad.status_code == 400
    assert len(outside.inboxes) == 1


async def test_a_sib_that_does_not_relay_nlets_says_so() -> None:
    profile = {**profile_for("nff", mocks_url=MOCKS, sut_url="http://sib.test")}
    profile["nlets_relay"] = False
    sib = ReferenceSib(profile, cjis_url=MOCKS, transport=httpx.MockTransport(Outside()))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sib.app), base_url="http://sib"
    ) as client:
        response = await client.post("/nlets/iaq", json=_iaq())
    assert response.status_code == 404
    assert "nlets_relay" in response.json()["detail"]
