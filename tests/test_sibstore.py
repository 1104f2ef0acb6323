"""The reference SIB's store: writes wait in one open transaction until `flush`, and the SIB
flushes before each answer, so whatever it acknowledged is on disk (another connection sees it)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from conformance.replay import _profile
from mocks.timing.backoff import Backoff
from sibs.reference import ReferenceSib
from sibs.store import Store, dumps
from synthetic import Synthesizer

pytestmark = pytest.mark.anyio


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    """What another connection (another process, after a crash) reads from the store file."""
    with sqlite3.connect(path) as other:
        return other.execute(sql).fetchall()


def test_writes_reach_the_file_at_flush(tmp_path: Path) -> None:
    path = tmp_path / "sib.sqlite3"
    store = Store(path)
    store.owe("NY0100000", "m-1", b"{}")
    store.set_fbi("SYN-1", "FBI0001")
    assert _rows(path, "SELECT message_id FROM outbox") == []
    store.flush()
    assert _rows(path, "SELECT message_id FROM outbox") == [("m-1",)]
    assert _rows(path, "SELECT fbi FROM subjects") == [("FBI0001",)]
    store.owe("NY0100000", "m-2", b"{}")
    store.close()
    assert len(_rows(path, "SELECT * FROM outbox")) == 2


def test_a_tcn_counter_never_repeats_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "sib.sqlite3"
    store = Store(path)
    first = [store.count() for _ in range(3)]
    store.close()
    again = Store(path)
    assert first == [1, 2, 3]
    assert again.count() == 4
    assert again.run == store.run


async def test_what_the_sib_acknowledged_is_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "sib.sqlite3"
    mocks = "http://mocks.test"

    def cjis(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, json={"virtual_time": "20270101000000Z"})

    sib = ReferenceSib(
        _profile("NY", mocks, "http://sib.test"),
        cjis_url=mocks,
        store=path,
        transport=httpx.MockTransport(cjis),
    )
    booking = Synthesizer(7).booking("NY0100000", doa=date(2027, 1, 1))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sib.app), base_url="http://sib.test"
    ) as lea:
        answer = await lea.post("/bookings", content=json.dumps(booking))
    assert answer.status_code == 202
    tcn = answer.json()["tcn"]
    assert _rows(path, "SELECT tcn, state FROM transactions") == [(tcn, "open")]
    sib.store.close()


async def test_the_lean_routes_answer_as_starlette_did_around_them(tmp_path: Path) -> None:
    """POSTs to the SIB's routes go straight to their handlers; the rest keep Starlette's
    answers (405 for a GET of /bookings, 404 for an unknown path), and a bad booking is refused
    naming the field and the rule."""
    mocks = "http://mocks.test"
    sib = ReferenceSib(_profile("NY", mocks, "http://sib.test"), cjis_url=mocks)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sib.app), base_url="http://sib.test"
    ) as lea:
        assert (await lea.get("/bookings")).status_code == 405
        assert (await lea.post("/nothing", content=b"{}")).status_code == 404
        assert (await lea.get("/health")).json() == {"status": "ok", "sib": "reference"}
        refused = await lea.post("/bookings", content=b"{")
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["rule"] == "json"
        not_a_number = await lea.post("/bookings", content=b'{"booking_id": NaN}')
        assert not_a_number.status_code == 400  # read strictly, as the mocks' intake reads
        assert not_a_number.json()["errors"][0]["rule"] == "finite-number"
        unknown = await lea.post("/cjis/responses", content=b"[]")
        assert unknown.status_code == 400
    sib.store.close()


async def test_a_message_the_inbox_takes_at_once_is_not_kept_one_it_refuses_is(
    tmp_path: Path,
) -> None:
    """The delivery is recorded as taken with what it brought: routed, or owed in the store; a
    copy that comes again is a duplicate, and an owed message waits in the store on disk."""
    path = tmp_path / "sib.sqlite3"
    mocks = "http://mocks.test"
    inbox: list[int] = []

    def world(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cjis/submissions":
            return httpx.Response(202, json={"virtual_time": "20270101000000Z"})
        return httpx.Response(inbox.pop(0) if inbox else 200)

    sib = ReferenceSib(
        _profile("NY", mocks, "http://sib.test"),
        cjis_url=mocks,
        store=path,
        transport=httpx.MockTransport(world),
    )
    sib.route_backoff = Backoff(3600.0, 2.0, 3600.0)  # no retry within the test
    synth = Synthesizer(7)
    booking = synth.booking("NY0100000", doa=date(2027, 1, 1))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sib.app), base_url="http://sib.test"
    ) as client:
        tcn = (await client.post("/bookings", content=json.dumps(booking))).json()["tcn"]
        tx = sib.transaction(tcn)
        assert tx is not None
        when = datetime(2027, 1, 1, tzinfo=UTC)
        sre, idr = synth.sre(tx.body, srf="N", gmt=when), synth.idr(tx.body, gmt=when)

        async def deliver(message: dict[str, object]) -> str:
            answer = await client.post("/cjis/responses", content=json.dumps(message))
            assert answer.status_code == 200
            return str(answer.json()["status"])

        assert await deliver(sre) == "taken"
        assert _rows(path, "SELECT * FROM outbox") == []
        assert await deliver(sre) == "duplicate"
        inbox.append(503)
        assert await deliver(idr) == "taken"
        assert _rows(path, "SELECT message_id, done FROM outbox") == [(idr["type1"]["tcn"], 0)]
        assert len(_rows(path, "SELECT * FROM deliveries")) == 2
    sib.store.close()


def test_a_transaction_reads_its_submission_only_when_asked(tmp_path: Path) -> None:
    """A delivery's transaction comes without the submission; asked for, it is read (and an
    unsent one, resumed after a restart, comes with it)."""
    submitted = datetime(2027, 1, 1, tzinfo=UTC)  # every date in this test is this instant's
    store = Store(tmp_path / "sib.sqlite3")
    booking = Synthesizer(7).booking("NY0100000", doa=submitted.date())
    message = {"type1": {"tot": "CAR", "tcn": "T-1"}, "type2": {"nam": "X"}}
    assert json.loads(store.add("T-1", booking, "CAR", message)) == message
    tx = store.transaction("T-1")
    assert tx is not None
    assert (tx.tcn, tx.ori, tx.tot, tx.state) == ("T-1", booking["ori"], "CAR", "unsent")
    assert tx.biometric_key == booking["prints"]["biometric_key"]
    assert tx.submitted is None
    assert tx.seen == []
    assert tx.body == message
    assert [t.body for t in store.unsent()] == [message]
    store.set_state("T-1", "open", submitted.strftime("%Y-%m-%dT%H:%M:%SZ"))
    again = store.transaction("T-1")
    assert again is not None
    assert again.state == "open"
    assert again.submitted == submitted
    assert again.body == message
    assert store.transaction("T-2") is None
    store.close()


def test_settings_subjects_and_deliveries_read_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "sib.sqlite3")
    assert store.setting("ident:T-1") is None
    store.set_setting("ident:T-1", "no-match")
    store.set_setting("ident:T-1", "match")
    assert store.setting("ident:T-1") == "match"
    assert store.fbi_of("SYN-1") is None
    store.set_fbi("SYN-1", "FBI0001")
    assert store.fbi_of("SYN-1") == "FBI0001"
    assert not store.taken("m-1")
    assert store.first_time("m-1")
    assert not store.first_time("m-1")
    assert store.taken("m-1")
    store.forget("m-1")
    assert not store.taken("m-1")
    owed = store.owe("NY0100000", "m-2", b"{}")
    assert owed.id > 0
    assert store.owed() == [owed]
    store.close()


def test_what_the_sib_sends_is_compact_json_even_past_64_bits() -> None:
    assert dumps({"nam": "ÉLAN,ZOË", "n": [1, 2.5]}) == '{"nam":"ÉLAN,ZOË","n":[1,2.5]}'
    past = {"sentence_days": 2**70, "nam": "ÉLAN"}  # orjson cannot write it; json can
    assert dumps(past) == '{"sentence_days":1180591620717411303424,"nam":"ÉLAN"}'
    assert json.loads(dumps(past)) == past
