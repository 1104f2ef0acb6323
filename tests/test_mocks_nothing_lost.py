"""Nothing lost, ever: a SIB callback down for ten minutes, and a mock restarted mid-retry.

Wall time is compressed 100 times through the back-off policy (a 30 s cap becomes 0.3 s), so a
ten-minute outage lasts six wall seconds; every socket is on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from mocks.servers.server import free_port, serving
from mocks.state.service import MockService
from mocks.timing.backoff import Backoff
from synthetic import Synthesizer
from tests.conftest import booking_car, manual_clock

COMPRESSED = 100.0
BACKOFF = Backoff(0.05 / COMPRESSED, 2.0, 30.0 / COMPRESSED)
OUTAGE = 600 / COMPRESSED
SCENARIO = {"ident": {"match_rate": 0.5}}


class _Sib(BaseHTTPRequestHandler):
    received: list[str]
    delay: float

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        json.loads(self.rfile.read(length))
        time.sleep(self.delay)
        self.received.append(self.headers["x-interop-message-id"])
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def sib_on(port: int, received: list[str], *, delay: float = 0.0) -> Iterator[None]:
    """A SIB taking every delivery on `port` (answering each after `delay` wall seconds), until
    the block ends."""
    handler = type("Sib", (_Sib,), {"received": received, "delay": delay})
    ThreadingHTTPServer.allow_reuse_address = True
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        httpd.shutdown()
        httpd.server_close()


def _service(ledger: Path, port: int) -> MockService:
    return MockService(
        clock=manual_clock(),
        scenario=SCENARIO,
        ledger=ledger,
        callback=f"http://127.0.0.1:{port}/cjis/responses",
        backoff=BACKOFF,
    )


def wait_for(http: httpx.Client, done: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        health: dict[str, Any] = http.get("/health").json()
        if done(health) or time.monotonic() > deadline:
            return health
        time.sleep(0.05)


def sib_entries(http: httpx.Client) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    after = 0
    while True:
        page = http.get("/admin/ledger", params={"channel": "sib", "after": after}).json()
        entries += page["entries"]
        if page["next"] is None:
            return entries
        after = page["next"]


def test_a_ten_minute_callback_outage_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    synth = Synthesizer(10)
    service = _service(tmp_path / "ledger.sqlite3", port)
    received: list[str] = []
    with serving(service) as url, httpx.Client(base_url=url, timeout=30) as http:
        for _ in range(30):
            assert http.post("/cjis/submissions", json=booking_car(synth)).status_code == 202
        began = time.monotonic()
        advanced = http.post("/admin/clock/advance", json={"seconds": 25 * 3600, "wait": 0})
        assert advanced.json()["settled"] is False
        down = wait_for(http, lambda h: h["deliveries"]["retrying"] > 0, 10)
        assert down["deliveries"]["owed"] >= 30
        assert down["deliveries"]["oldest"] is not None
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - began)))
        during = sib_entries(http)
        assert max(e["delivery"]["attempts"] for e in during) >= 5
        with sib_on(port, received):
            up = wait_for(http, lambda h: h["deliveries"]["owed"] == 0, 30)
        entries = sib_entries(http)
    assert up["deliveries"] == {
        "owed": 0,
        "retrying": 0,
        "oldest": None,
        "unrecorded": 0,
        "recorded_late": 0,
    }
    assert {e["delivery"]["state"] for e in entries} == {"delivered"}
    assert {e["id"] for e in entries} == set(received)
    assert len(entries) >= 60  # an SRE and an IDR (or IDR/IAR) for each submission


def test_a_restart_mid_retry_resumes_the_attempts(tmp_path: Path) -> None:
    port = free_port()
    ledger = tmp_path / "ledger.sqlite3"
    synth = Synthesizer(11)
    first = _service(ledger, port)
    with serving(first) as url, httpx.Client(base_url=url, timeout=30) as http:
        for _ in range(5):
            http.post("/cjis/submissions", json=booking_car(synth))
        http.post("/admin/clock/advance", json={"seconds": 600, "wait": 0})
        wait_for(http, lambda h: h["deliveries"]["retrying"] >= 5, 10)
        time.sleep(0.5)
        before = {e["id"]: e["delivery"]["attempts"] for e in sib_entries(http)}
    assert len(before) == 5
    assert min(before.values()) >= 1
    received: list[str] = []
    second = _service(ledger, port)
    with sib_on(port, received), serving(second) as url, httpx.Client(base_url=url) as http:
        health = wait_for(http, lambda h: h["deliveries"]["owed"] == 0, 30)
        after = {e["id"]: e["delivery"] for e in sib_entries(http)}
    assert health["deliveries"]["owed"] == 0
    assert sorted(received) == sorted(before)
    for message_id, attempts in before.items():
        assert after[message_id]["state"] == "delivered"
        assert after[message_id]["attempts"] > attempts
