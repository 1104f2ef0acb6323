"""No lock-out by idle or slow clients: real sockets on 127.0.0.1 against the mocks served with
small limits (`mocks.transport.guard.Guard`), so that each limit is reached with a few dozen
sockets."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from mocks.servers.server import free_port, serving
from mocks.servers.smtp import start_smtp
from mocks.state.service import MockService
from mocks.transport.guard import Budget, Guard, budget, raise_nofile
from synthetic import Synthesizer
from tests.conftest import booking_car, manual_clock

HTTP_CAP = 40


def _guard(**given: Any) -> Guard:
    limits: dict[str, Any] = {
        "connections": Budget(http=HTTP_CAP, smtp=4),
        "idle_seconds": 30.0,
        "header_seconds": 30.0,
        "request_limit": 4,
        "reserve": 2,
        "smtp_idle_seconds": 30.0,
    }
    return Guard(**{**limits, **given})


@contextlib.contextmanager
def _mocks(guard: Guard, scenario: dict[str, Any] | None = None) -> Iterator[tuple[str, int]]:
    service = MockService(clock=manual_clock(), scenario=scenario)
    with serving(service, guard=guard) as url:
        parts = urlsplit(url)
        yield str(parts.hostname), int(parts.port or 0)


def _connect(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=10)


def _closed(sock: socket.socket, within: float) -> bytes | None:
    """What the server sent before closing `sock` (None: still open after `within` seconds)."""
    sock.settimeout(within)
    said = b""
    try:
        while chunk := sock.recv(65536):
            said += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return said


def _health(address: tuple[str, int]) -> int:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: mocks\r\nconnection: close\r\n\r\n")
        answer = _closed(sock, 10) or b""
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def test_idle_sockets_beyond_the_cap_close_the_idlest_and_health_answers() -> None:
    with _mocks(_guard()) as address:
        idle = [_connect(address) for _ in range(HTTP_CAP + 20)]
        try:
            assert _health(address) == 200
            # The idlest made room, in the order they came; the newest stay open.
            assert [_closed(s, 10) for s in idle[:20]] == [b""] * 20
            assert [_closed(s, 0.05) for s in idle[-10:]] == [None] * 10
        finally:
            for sock in idle:
                sock.close()


def test_a_socket_sending_nothing_is_closed_after_the_idle_timeout() -> None:
    with _mocks(_guard(idle_seconds=0.3)) as address, _connect(address) as sock:
        assert _closed(sock, 10) == b""


def test_slow_headers_get_408_and_are_closed() -> None:
    with _mocks(_guard(header_seconds=0.5)) as address, _connect(address) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: mocks\r\n")
        began = time.monotonic()
        answer = None
        while answer is None and time.monotonic() - began < 10:
            with contextlib.suppress(OSError):
                sock.sendall(b"x-drip: 1\r\n")  # a header line now and then, never the end
            answer = _closed(sock, 0.1)
        assert answer is not None
        assert answer.startswith(b"HTTP/1.1 408 ")


def test_headers_over_the_limit_get_431_before_they_are_buffered() -> None:
    with _mocks(_guard(header_limit=16 * 1024)) as address, _connect(address) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: mocks\r\nx-big: ")
        with contextlib.suppress(OSError):
            for _ in range(64):
                sock.sendall(b"a" * 16 * 1024)
        answer = _closed(sock, 10)
        assert answer is not None
        assert answer.startswith(b"HTTP/1.1 431 ")


def test_a_body_after_small_headers_is_not_counted_as_headers() -> None:
    with _mocks(_guard(header_limit=1024)) as (host, port):
        car = booking_car(Synthesizer(3))
        answer = httpx.post(f"http://{host}:{port}/cjis/submissions", json=car, timeout=10)
        assert answer.status_code == 202


def test_the_reserve_keeps_health_and_admin_answering_when_requests_are_saturated() -> None:
    synth = Synthesizer(4)
    hangs = [synth.biometric_key() for _ in range(2)]
    scenario = {
        "overrides": [
            {"when": {"biometric_key": key}, "faults": [{"kind": "hang", "seconds": 5}]}
            for key in hangs
        ]
    }
    guard = _guard()
    with _mocks(guard, scenario) as (host, port):
        url = f"http://{host}:{port}"
        held = [
            threading.Thread(
                target=httpx.post,
                args=(f"{url}/cjis/submissions",),
                kwargs={"json": booking_car(synth, key=key), "timeout": 30},
            )
            for key in hangs
        ]
        for thread in held:
            thread.start()
        deadline = time.monotonic() + 20
        while guard.answering < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        refused = httpx.post(f"{url}/cjis/submissions", json=booking_car(synth), timeout=10)
        assert refused is not None
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200
        assert httpx.get(f"{url}/admin/clock", timeout=10).status_code == 200
        for thread in held:
            thread.join()


async def _smtp_greeting(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()


@pytest.mark.anyio
async def test_smtp_sessions_are_capped_and_idle_ones_closed() -> None:
    guard = _guard(smtp_idle_seconds=0.5)
    port = free_port()
    async with MockService(clock=manual_clock()) as service:
        smtp = await start_smtp(service, port=port, guard=guard)
        try:
            held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(4)]
            for reader, _ in held:
                assert (await reader.readline()).startswith(b"220 ")
            assert (await _smtp_greeting(port)).startswith(b"421 ")
            for reader, _ in held:  # sending nothing, each is closed after the idle timeout
                while await asyncio.wait_for(reader.readline(), 10):
                    pass
            assert (await _smtp_greeting(port)).startswith(b"220 ")
            for _, writer in held:
                writer.close()
        finally:
            smtp.close()
            await smtp.wait_closed()


def test_nofile_is_raised_to_the_hard_limit_and_split() -> None:
    soft = raise_nofile()
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == soft
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert hard == resource.RLIM_INFINITY or soft == hard
    shares = budget(soft)
    assert shares.http + shares.smtp <= max(soft, 64 + 256)
    assert shares.http > shares.smtp > 0
