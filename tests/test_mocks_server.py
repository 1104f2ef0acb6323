"""The mocks as a real server: a dropped connection, and a SIGKILL mid-run with a restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from mocks.servers.server import free_port, is_loopback, server, serving, uvicorn_mocks
from mocks.state.service import MockService
from synthetic import Synthesizer
from tests.conftest import booking_car, manual_clock

REPO = Path(__file__).resolve().parent.parent


class _Callback(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]]

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length))
        self.received.append((self.headers["x-interop-message-id"], body))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def callback() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    received: list[tuple[str, dict[str, Any]]] = []
    handler = type("Recorder", (_Callback,), {"received": received})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/cjis/responses", received
    httpd.shutdown()
    httpd.server_close()


def test_connection_reset_drops_the_connection_then_the_tcn_is_accepted() -> None:
    synth = Synthesizer(5)
    key = synth.biometric_key()
    fault = {"kind": "connection-reset", "times": 1}
    scenario = {"overrides": [{"when": {"biometric_key": key}, "faults": [fault]}]}
    car = booking_car(synth, key=key)
    service = MockService(clock=manual_clock(), scenario=scenario)
    with serving(service) as url, httpx.Client(base_url=url, timeout=5) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/cjis/submissions", json=car)
        retried = client.post("/cjis/submissions", json=car)
        assert retried.status_code == 202
        assert retried.json()["status"] == "accepted"


def _serve(port: int, ledger: Path, scenario: Path, target: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "interop", "serve", "--port", str(port),
        "--clock", "scaled:3600", "--ledger", str(ledger), "--scenario", str(scenario),
        "--sut-callback", target,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = ledger.with_suffix(f".{port}.{time.monotonic_ns()}.log")
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError(f"serve did not start: {log.read_text()}")


def _sres(received: list[tuple[str, dict[str, Any]]]) -> int:
    return sum(body["type1"]["tot"] == "SRE" for _, body in received)


def test_sigkill_mid_run_then_restart_delivers_every_owed_response_once(
    tmp_path: Path, callback: tuple[str, list[tuple[str, dict[str, Any]]]]
) -> None:
    target, received = callback
    ledger = tmp_path / "ledger.sqlite3"
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"ident": {"match_rate": 1}, "timing": "sop"}))
    synth = Synthesizer(11)
    cars = [booking_car(synth) for _ in range(20)]
    port = free_port()
    first = _serve(port, ledger, scenario, target)
    try:
        for car in cars:
            today = httpx.get(f"http://127.0.0.1:{port}/admin/clock").json()["now"][:10]
            car["type2"]["doa"] = today.replace("-", "")
            response = httpx.post(f"http://127.0.0.1:{port}/cjis/submissions", json=car)
            assert response.status_code == 202
        # killed once every SRE came (some IDR/IARs may have too, on a slow machine)
        deadline = time.monotonic() + 30
        while _sres(received) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert _sres(received) == 20
    second = _serve(port, ledger, scenario, target)
    try:
        deadline = time.monotonic() + 30
        while len(received) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        second.terminate()
        second.wait(timeout=10)
    kinds = Counter(
        "IDR/IAR" if "iar" in body["type2"] else body["type1"]["tot"] for _, body in received
    )
    assert kinds == {"SRE": 20, "IDR/IAR": 20}
    per_id = Counter(message_id for message_id, _ in received)
    assert set(per_id.values()) == {1}
    answered = {body["type1"]["tcr"] for _, body in received if body["type1"]["tot"] == "IDR"}
    assert answered == {car["type1"]["tcn"] for car in cars}


def test_serving_off_loopback_needs_an_admin_token() -> None:
    with pytest.raises(ValueError, match="off loopback: give --admin-token"):
        server(MockService(), host="0.0.0.0")
    assert server(MockService(admin_token="t"), host="0.0.0.0").host == "0.0.0.0"
    with pytest.raises(ValueError, match="off loopback: give --admin-token"):
        uvicorn_mocks(MockService(), host="0.0.0.0")
    assert is_loopback("127.0.0.2")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("10.0.0.1")


def test_cli_serve_refuses_off_loopback_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from interop import main

    monkeypatch.delenv("INTEROP_ADMIN_TOKEN", raising=False)
    out = io.StringIO()
    assert main(["serve", "--host", "0.0.0.0"], out=out) == 2
    assert "admin-token" in out.getvalue()
