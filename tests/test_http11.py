"""The HTTP/1.1 server the mocks and the reference SIB run on, over real sockets, with a small ASGI
app: its lifespan, a HEAD, `Expect: 100-continue`, bodies over the limit (declared or sent), an
answer the app leaves unfinished, an app that fails, and pipelined requests answered in order."""

from __future__ import annotations

import email.utils
import socket
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from mocks.servers.http11 import Http11Server
from mocks.servers.server import in_thread
from mocks.transport.guard import Guard


class _App:
    """Echoes POST bodies; `/half` answers part of a body and returns; `/boom` raises."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.events.append(message["type"])
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if path == "/boom":
            raise RuntimeError("the app failed")
        body = (await receive())["body"]
        if path == "/half":
            headers = [(b"content-length", b"100")]
            await send({"type": "http.response.start", "status": 202, "headers": headers})
            await send({"type": "http.response.body", "body": b"part", "more_body": True})
            return
        answer = body or f"{scope['method']} {path}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": answer[:10], "more_body": True})
        await send({"type": "http.response.body", "body": answer[10:]})


@pytest.fixture
def served() -> Iterator[tuple[str, _App]]:
    app = _App()
    guard = Guard(request_limit=8, reserve=2)
    make = lambda port: Http11Server(app, port=port, fast_loop=False, guard=guard, body_limit=64)  # noqa: E731
    with in_thread(make) as url:
        yield url, app
    assert app.events == ["lifespan.startup", "lifespan.shutdown"]


def _raw(url: str, data: bytes, *, until: bytes | None = None) -> bytes:
    """Send `data` on one connection; what came back until it closed (or `until` arrived)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(data)
        got = b""
        while until is None or until not in got:
            chunk = conn.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def test_answers_whole_in_one_piece_and_its_lifespan_runs(served: tuple[str, _App]) -> None:
    url, app = served
    assert app.events == ["lifespan.startup"]
    with httpx.Client(base_url=url) as client:
        answer = client.post("/echo", content=b"a body longer than ten bytes")
        assert answer.status_code == 200
        assert answer.content == b"a body longer than ten bytes"
        assert answer.headers["content-length"] == "28"
        assert email.utils.parsedate_to_datetime(answer.headers["date"]).tzinfo is not None
        head = client.head("/x")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-length"] == "7"  # len("HEAD /x"): what the app answered


def test_pipelined_requests_are_answered_in_order(served: tuple[str, _App]) -> None:
    url, _ = served
    requests = b"".join(
        b"POST /p HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\n%02d" % n for n in range(20)
    )
    got = _raw(url, requests + b"GET /last HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
    bodies = [part.rsplit(b"\r\n\r\n", 1)[-1] for part in got.split(b"HTTP/1.1 200 OK")[1:]]
    assert bodies == [b"%02d" % n for n in range(20)] + [b"GET /last"]


def test_expect_continue_is_answered_before_the_body(served: tuple[str, _App]) -> None:
    url, _ = served
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            b"POST /e HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 4\r\n\r\n"
        )
        assert conn.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        conn.sendall(b"body")
        assert conn.recv(1000).endswith(b"\r\n\r\nbody")


def test_bodies_over_the_limit_are_refused_naming_it(served: tuple[str, _App]) -> None:
    url, _ = served
    declared = _raw(url, b"POST /b HTTP/1.1\r\nhost: t\r\ncontent-length: 1000000\r\n\r\n")
    assert declared.startswith(b"HTTP/1.1 413 ")
    assert b"declares 1000000" in declared
    assert b"rule: at most 64 bytes" in declared
    chunked = b"POST /b HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n"
    sent = _raw(url, chunked + b"50\r\n" + b"x" * 80 + b"\r\n0\r\n\r\n")
    assert sent.startswith(b"HTTP/1.1 413 ")
    assert b"rule: at most 64 bytes" in sent


def test_an_unfinished_answer_goes_as_far_as_it_went_and_the_connection_closes(
    served: tuple[str, _App],
) -> None:
    url, _ = served
    got = _raw(url, b"POST /half HTTP/1.1\r\nhost: t\r\ncontent-length: 0\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 202 ")
    assert got.endswith(b"\r\n\r\npart")
    with httpx.Client(base_url=url) as client, pytest.raises(httpx.RemoteProtocolError):
        client.post("/half")


def test_an_app_that_fails_is_a_500_and_the_server_goes_on(
    served: tuple[str, _App], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = served
    with httpx.Client(base_url=url) as client:
        failed = client.post("/boom")
        assert failed.status_code == 500
        assert failed.headers["connection"] == "close"
        assert client.post("/echo", content=b"still").content == b"still"
    assert "POST /boom failed" in caplog.text
