"""The reference SIB's own HTTP server, over real sockets: the routes, status codes and problem
bodies an outside caller relies on, keep-alive and pipelining, the mocks' limits, and answers that
follow their commit (what the SIB acknowledged is on disk)."""

from __future__ import annotations

import gc
import json
import re
import socket
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.replay import _profile
from mocks.servers.server import in_thread
from mocks.transport.guard import Guard
from sibs import server as sibserver
from sibs.reference import ReferenceSib
from sibs.server import SibServer
from sibs.variants import sib_class
from synthetic import Synthesizer

MOCKS = "http://mocks.test"


def _cjis(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/cjis/submissions":
        return httpx.Response(202, json={"virtual_time": "20270101000000Z"})
    return httpx.Response(200)


def _serve(sib: ReferenceSib, guard: Guard | None = None) -> Any:
    return in_thread(lambda port: SibServer(sib, port=port, fast_loop=False, guard=guard))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, ReferenceSib]]:
    sib = ReferenceSib(
        _profile("NY", MOCKS, "http://sib.test"),
        cjis_url=MOCKS,
        store=tmp_path / "sib.sqlite3",
        transport=httpx.MockTransport(_cjis),
    )
    with _serve(sib) as url:
        yield url, sib


def _booking(n: int = 7) -> dict[str, Any]:
    return Synthesizer(n).booking("NY0100000", doa=date(2027, 1, 1))


def _raw(url: str, data: bytes, *, until: int) -> bytes:
    """Send `data` on one connection; what came back once `until` answers did (or it closed)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(data)
        got = b""
        while got.count(b"HTTP/1.1 ") < until or not got.endswith((b"}", b"\n", b"d")):
            chunk = conn.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def test_routes_status_codes_and_problem_bodies_over_http(
    served: tuple[str, ReferenceSib],
) -> None:
    url, _ = served
    with httpx.Client(base_url=url) as lea:
        assert lea.get("/health").json() == {"status": "ok", "sib": "reference"}
        assert lea.get("/bookings").status_code == 405
        assert lea.get("/bookings").headers["allow"] == "POST"
        assert lea.post("/nothing", content=b"{}").status_code == 404
        refused = lea.post("/bookings", content=b"{")
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0] == {
            "path": "$",
            "rule": "json",
            "message": "Expecting property name enclosed in double quotes: line 1 column 2 "
            "(char 1)",
        }
        wrong = lea.post("/bookings", content=json.dumps(dict(_booking(), ori="NJ0100000")))
        assert wrong.status_code == 400
        assert {"path": "$.ori", "rule": "state"}.items() <= wrong.json()["errors"][0].items()
        assert lea.post("/cjis/responses", content=b"[]").status_code == 400
        taken = lea.post("/bookings", content=json.dumps(_booking()))
        assert taken.status_code == 202
        assert taken.json()["tot"] == "CAR"


def test_what_the_sib_acknowledged_is_on_disk(served: tuple[str, ReferenceSib]) -> None:
    url, sib = served
    with httpx.Client(base_url=url) as lea:
        answers = [lea.post("/bookings", content=json.dumps(_booking(n))) for n in (1, 2)]
    tcns = [answer.json()["tcn"] for answer in answers]
    path = sib.store.path
    assert path is not None
    with sqlite3.connect(path) as other:  # what another process reads, after a crash too
        rows = other.execute("SELECT tcn, state FROM transactions ORDER BY tcn").fetchall()
    assert rows == [(tcns[0], "open"), (tcns[1], "open")]


def test_pipelined_requests_are_answered_in_order_on_one_connection(
    served: tuple[str, ReferenceSib],
) -> None:
    url, _ = served
    get = b"GET /health HTTP/1.1\r\nhost: sib\r\n\r\n"
    bad = b"POST /bookings HTTP/1.1\r\nhost: sib\r\ncontent-length: 1\r\n\r\n{"
    last = b"GET /nothing HTTP/1.1\r\nhost: sib\r\nconnection: close\r\n\r\n"
    got = _raw(url, get + bad + get + last, until=4)
    statuses = re.findall(rb"HTTP/1.1 (\d{3}) ", got)
    assert statuses == [b"200", b"400", b"200", b"404"]
    assert b"connection: close" in got.split(b"HTTP/1.1 404")[1]


def test_bad_http_oversized_bodies_and_headers_are_refused_naming_the_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sibserver, "BODY_LIMIT", 1000)
    sib = ReferenceSib(_profile("NY", MOCKS, "http://sib.test"), cjis_url=MOCKS)
    with _serve(sib, Guard(header_limit=2000)) as url:
        big = b"POST /bookings HTTP/1.1\r\nhost: sib\r\ncontent-length: 5000\r\n\r\n" + b" " * 5000
        answer = _raw(url, big, until=1)
        assert answer.startswith(b"HTTP/1.1 413 ")
        assert b"rule: at most 1000 bytes" in answer
        headers = b"GET /health HTTP/1.1\r\nhost: sib\r\nx-big: " + b"a" * 3000 + b"\r\n\r\n"
        assert _raw(url, headers, until=1).startswith(b"HTTP/1.1 431 ")
        assert _raw(url, b"NOT HTTP\r\n\r\n", until=1).startswith(b"HTTP/1.1 400 ")
        with httpx.Client(base_url=url) as lea:  # and it goes on answering
            assert lea.get("/health").status_code == 200


def test_a_handler_that_fails_is_a_500_and_the_sib_goes_on(tmp_path: Path) -> None:
    sib = sib_class("crashes-on-odd-booking")(
        _profile("NY", MOCKS, "http://sib.test"), cjis_url=MOCKS
    )
    booking = _booking()
    booking["person"]["aka"] = ["DOE, JANE"]
    with _serve(sib) as url, httpx.Client(base_url=url) as lea:
        failed = lea.post("/bookings", content=json.dumps(booking))
        assert failed.status_code == 500
        assert failed.headers["connection"] == "close"
        assert lea.get("/health").status_code == 200


def test_a_sib_served_in_a_thread_leaves_the_collector_as_it_was(tmp_path: Path) -> None:
    """Only `interop sib`, a process of its own, collects less often."""
    before = gc.get_threshold()
    sib = ReferenceSib(_profile("NY", MOCKS, "http://sib.test"), cjis_url=MOCKS)
    with _serve(sib) as url:
        assert httpx.get(f"{url}/health").status_code == 200
        assert gc.get_threshold() == before
    assert gc.get_threshold() == before
