"""A full disk is an outage, not a storm: the ledger's disk fills during a burst with the SIB's
callback up (SQLite's own `SQLITE_FULL`, the database capped with `PRAGMA max_page_count`).

Nothing is lost, nothing is posted while the ledger cannot record it, each delivery reaches the SIB
at most twice, intake answers 503 (SMTP 452) while full, `/health` says so, and the mocks recover
by themselves once there is room. Real sockets on 127.0.0.1; the clock is manual.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

import schemas
from mocks.servers.server import free_port, serving
from mocks.servers.smtp import SubmissionHandler
from mocks.state.service import MockService
from mocks.storage.ledger import Ledger
from synthetic import Synthesizer
from tests.conftest import booking_car, manual_clock
from tests.test_mocks_nothing_lost import BACKOFF, SCENARIO, sib_entries, sib_on, wait_for

SLOW_SIB = 0.05
"""Wall seconds the SIB takes to answer each delivery: many are in flight as the disk fills."""


def _advance(url: str) -> None:
    httpx.post(f"{url}/admin/clock/advance", json={"seconds": 25 * 3600, "wait": 0}, timeout=30)


def _cap(ledger: Ledger, pages: int | None) -> int:
    """Cap the ledger's database (from this thread; the server runs its own loop)."""
    return asyncio.run(ledger.cap_pages(pages))


def test_a_full_disk_during_a_burst_loses_nothing_and_recovers_by_itself(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="interop")
    port = free_port()
    synth = Synthesizer(20)
    service = MockService(
        clock=manual_clock(),
        scenario=SCENARIO,
        ledger=tmp_path / "ledger.sqlite3",
        callback=f"http://127.0.0.1:{port}/cjis/responses",
        backoff=BACKOFF,
    )
    received: list[str] = []
    accepted: list[str] = []
    with (
        sib_on(port, received, delay=SLOW_SIB),
        serving(service) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        for _ in range(40):
            car = booking_car(synth)
            assert http.post("/cjis/submissions", json=car).status_code == 202
            accepted.append(car["type1"]["tcn"])
        # Responses start flowing to the SIB; the disk fills while they do and CARs still come.
        pages = _cap(service.ledger, None)
        advancing = threading.Thread(target=_advance, args=(url,))
        advancing.start()
        wait_for(http, lambda h: h["outstanding_deliveries"] > 0, 20)
        _cap(service.ledger, pages + 64)
        refused = None
        for _ in range(2000):
            car = booking_car(synth)
            answer = http.post("/cjis/submissions", json=car)
            if answer.status_code == 202:
                accepted.append(car["type1"]["tcn"])
                continue
            refused = answer
            break
        assert refused is not None, "the capped ledger never filled"
        assert refused.status_code == 503
        assert refused.headers["retry-after"].isdigit()
        assert refused.headers["content-type"] == "application/problem+json"
        assert schemas.problems("api.json#/$defs/problem", refused.json()) == []
        assert "ledger" in refused.json()["detail"]
        advancing.join()

        full = wait_for(http, lambda h: h["outstanding_deliveries"] == 0, 20)
        assert full["status"] == "degraded"
        assert full["degraded"] == "ledger not writable"
        assert schemas.problems("api.json#/$defs/health", full) == []
        advance = http.post("/admin/clock/advance", json={"seconds": 3600, "wait": 0})
        assert advance.status_code == 503
        assert http.post("/cjis/submissions", json=booking_car(synth)).status_code == 503
        handler = SubmissionHandler(service)
        reply = asyncio.run(handler.handle_DATA(cast(Any, None), cast(Any, None), cast(Any, None)))
        assert reply.startswith("452 ")

        posted_while_full = len(received)
        time.sleep(1.0)  # with nothing in flight, anything posted now was posted while full
        assert len(received) == posted_while_full

        _cap(service.ledger, None)
        up = wait_for(http, lambda h: h["status"] == "ok", 20)
        assert up["status"] == "ok"
        assert "degraded" not in up
        done = http.post("/admin/clock/advance", json={"seconds": 25 * 3600, "wait": 30})
        assert done.status_code == 200, done.text
        assert done.json()["settled"] is True
        entries = sib_entries(http)
        health = http.get("/health").json()

    assert {e["delivery"]["state"] for e in entries} == {"delivered"}
    assert {e["id"] for e in entries} == set(received)  # nothing lost
    assert max(Counter(received).values()) <= 2  # each delivery at most twice
    answered = {e["tcr"] for e in entries if e["tot"] == "SRE"}
    assert set(accepted) <= answered  # every CAR acknowledged got its SRE
    assert health["deliveries"]["owed"] == 0
    assert health["deliveries"]["unrecorded"] == 0
    ours = [r for r in caplog.records if r.name.startswith("interop")]
    assert [r for r in ours if r.exc_info] == []  # no tracebacks
    lines = [r for r in ours if r.name == "interop.ledger"]
    down = [r for r in lines if "not writable" in r.getMessage()]
    again = [r for r in lines if "writable again" in r.getMessage()]
    assert len(down) == len(again) >= 1  # one line per change of state, not per attempt
    assert len(down) <= 3
