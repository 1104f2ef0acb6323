"""The reference SIB served over HTTP/1.1 without an ASGI server: an asyncio protocol on httptools.

The SIB's work per booking is a handful of small HTTP exchanges (the booking, the CAR, the SRE,
IDR and IAR, each relayed to an LEA inbox); under uvicorn most of its CPU went to the ASGI layer
around them. Here a connection's requests are parsed by httptools and each POST to one of the
SIB's routes goes straight to its handler; anything else (`/health`, unknown paths and methods with
their 404 and 405) through the SIB's Starlette app, so every answer is the one it always was.

* **Group commit**: an answer is held until the SIB's store has committed what led to it; the
  answers ready in one turn of the event loop follow one commit (`Store.flush`), so a SIB killed
  at any moment has on disk everything it acknowledged.
* **One write per answer**, keep-alive (HTTP/1.1, or 1.0 asking for it), pipelined requests
  answered in order.
* **The mocks' limits** (`mocks.transport.guard`): idle and slow connections closed, headers
  capped, the connection budget, `request_limit` requests answered at once (503 beyond); bodies
  are capped at `BODY_LIMIT` (413).

`SibServer` runs like a `uvicorn.Server` (`run`, `started`, `should_exit`), so
`mocks.servers.server.in_thread` serves it beside others.
"""

from __future__ import annotations

import asyncio
import collections
import http
import importlib.util
import json
import logging
import signal
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import httptools
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Scope

from mocks.transport.guard import BACKLOG, Guard, for_process

__all__ = ["BODY_LIMIT", "SibServer"]

BODY_LIMIT = 16 * 1024 * 1024
"""The largest request body taken (413 beyond): a booking or a delivery is a few kilobytes."""

_log = logging.getLogger("sibs.server")
_Handler = Callable[[Request], Awaitable[Response]]
_REASONS = {s.value: s.phrase.encode() for s in http.HTTPStatus}
_PIPELINED = 16
"""Requests queued on one connection (pipelined behind the one being answered) before its
reading pauses."""


def _head(status: int, headers: list[tuple[bytes, bytes]], keep_alive: bool) -> bytes:
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b""))]
    lines.extend(b"%s: %s\r\n" % pair for pair in headers)
    if not keep_alive:
        lines.append(b"connection: close\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


def _plain(status: int, text: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = text.encode()
    kind = (b"content-type", b"text/plain; charset=utf-8")
    return status, [kind, (b"content-length", b"%d" % len(body))], body


def _problem(status: int, detail: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"type": "about:blank", "title": _REASONS[status].decode(),
                       "status": status, "detail": detail}).encode()  # fmt: skip
    kind = (b"content-type", b"application/problem+json")
    return status, [kind, (b"content-length", b"%d" % len(body))], body


class _Request:
    """A request read whole: what the handlers and the ASGI app are given."""

    __slots__ = ("body", "headers", "keep_alive", "method", "path", "query")

    def __init__(self) -> None:
        self.method = ""
        self.path = ""
        self.query = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.keep_alive = True


class _Read(Request):
    """A Starlette request whose body was read already."""

    def __init__(self, scope: Scope, body: bytes) -> None:
        super().__init__(scope)
        self._body = body


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: requests parsed by httptools, answered one at a time, in order."""

    loop: asyncio.AbstractEventLoop

    def __init__(self, server: SibServer) -> None:
        self.server = server
        self.loop = server.loop
        self.transport: Any = None
        self.parser = httptools.HttpRequestParser(self)
        self.request = _Request()
        self.url = b""
        self.size = 0
        self.queue: collections.deque[_Request] = collections.deque()
        self.busy = False
        self.closed = False

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reject(*_plain(400, "protocol upgrades are not supported"))
        except httptools.HttpParserError as exc:
            self._reject(*_plain(400, f"not an HTTP/1.1 request: {exc}"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.request = _Request()
        self.url = b""
        self.size = 0

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.request.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        request = self.request
        request.method = self.parser.get_method().decode("ascii", "replace")
        path, _, request.query = self.url.partition(b"?")
        request.path = path.decode("utf-8", "replace")
        request.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > BODY_LIMIT:
            rule = f"rule: at most {BODY_LIMIT} bytes"
            self._reject(*_problem(413, f"the request body is over {BODY_LIMIT} bytes ({rule})"))
            return
        self.request.body.append(body)

    def on_message_complete(self) -> None:
        if self.closed:
            return
        if self.busy:
            self.queue.append(self.request)
            if len(self.queue) >= _PIPELINED:
                self.transport.pause_reading()
            return
        self._start(self.request)

    # answering
    def _start(self, request: _Request) -> None:
        self.busy = True
        self.server.answer(self, request)

    def answered(self, data: bytes, keep_alive: bool) -> None:
        """Write an answer (its store committed); take the next request."""
        if self.closed:
            return
        self.transport.write(data)
        if not keep_alive:
            self.closed = True
            self.transport.close()
            return
        self.on_response_complete()

    def on_response_complete(self) -> None:
        self.busy = False
        if self.queue:
            if len(self.queue) == _PIPELINED:
                self.transport.resume_reading()
            self._start(self.queue.popleft())

    def _reject(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        if not self.closed:
            self.closed = True
            self.transport.write(_head(status, headers, False) + body)
            self.transport.close()

    def close_now(self) -> None:
        """Close the connection (the guard found it idle)."""
        if not self.closed:
            self.closed = True
            self.transport.close()


class SibServer:
    """`sib` (a `ReferenceSib` or variant) served on `host`:`port` within `guard`'s limits."""

    def __init__(
        self,
        sib: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 8701,
        log_level: str = "warning",
        fast_loop: bool = True,
        guard: Guard | None = None,
    ) -> None:
        self.sib = sib
        self.host, self.port = host, port
        self.fast_loop = fast_loop and importlib.util.find_spec("uvloop") is not None
        self.guard = guard or for_process()
        self.posts: dict[str, _Handler] = sib.posts
        self.fallback: ASGIApp = sib.app
        _log.setLevel(log_level.upper())
        self.started = False
        self.should_exit = False
        self.loop: asyncio.AbstractEventLoop
        self._ready: list[tuple[_Connection, bytes, bool]] = []
        self._in_flight: set[asyncio.Task[None]] = set()

    # -- running -----------------------------------------------------------------------------

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve until `should_exit` (or SIGINT/SIGTERM in the main thread)."""
        loop: asyncio.AbstractEventLoop
        if self.fast_loop:
            import uvloop

            loop = uvloop.new_event_loop()
        else:
            loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self.serve(sockets))
        finally:
            loop.close()

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve on this event loop until `should_exit`."""
        loop = self.loop = asyncio.get_running_loop()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self._exit)
        guarded = self.guard.protocol(_Connection)
        async with self.sib.running():
            if sockets:
                listening = [
                    await loop.create_server(lambda: guarded(self), sock=s, backlog=BACKLOG)
                    for s in sockets
                ]
            else:
                server = await loop.create_server(
                    lambda: guarded(self), self.host, self.port, backlog=BACKLOG
                )
                listening = [server]
            self.started = True
            try:
                while not self.should_exit:
                    await asyncio.sleep(0.1)
            finally:
                for server in listening:
                    server.close()
                await self._drain()

    def _exit(self) -> None:
        self.should_exit = True

    async def _drain(self, grace: float = 5.0) -> None:
        """Let the requests being answered finish (within `grace` seconds); close the rest."""
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=grace)
        self._commit()
        for connection in list(self.guard.open):
            if isinstance(connection, _Connection) and connection.server is self:
                connection.close_now()

    # -- answering ---------------------------------------------------------------------------

    def answer(self, connection: _Connection, request: _Request) -> None:
        """Answer `request` in a task of its own (a handler waits on CJIS and the inboxes)."""
        guard = self.guard
        limit = guard.request_limit - (0 if request.path == "/health" else guard.reserve)
        if guard.answering >= limit:
            guard.refused += 1
            status, headers, body = _problem(
                503, f"{guard.answering} requests are being answered (rule: at most {limit} at "
                "once); try again")  # fmt: skip
            headers.append((b"retry-after", b"1"))
            self._hold(connection, _head(status, headers, request.keep_alive) + body, request)
            return
        guard.answering += 1
        task = self.loop.create_task(self._answer(connection, request))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _answer(self, connection: _Connection, request: _Request) -> None:
        try:
            status, headers, body = await self._respond(connection, request)
        except Exception:
            _log.exception("%s %s failed", request.method, request.path)
            status, headers, body = _plain(500, "Internal Server Error")
            request.keep_alive = False
        finally:
            self.guard.answering -= 1
        self._hold(connection, _head(status, headers, request.keep_alive) + body, request)

    async def _respond(
        self, connection: _Connection, request: _Request
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        body = b"".join(request.body)
        handler = self.posts.get(request.path) if request.method == "POST" else None
        if handler is not None:
            scope = {"type": "http", "method": "POST", "path": request.path,
                     "headers": request.headers, "query_string": request.query}  # fmt: skip
            response = await handler(_Read(scope, body))
            return response.status_code, response.raw_headers, bytes(response.body)
        return await self._through_app(connection, request, body)

    async def _through_app(
        self, connection: _Connection, request: _Request, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Answer through the SIB's ASGI app (its 404, 405, `/health`), the answer read whole."""
        transport = connection.transport
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": request.method, "scheme": "http", "path": request.path,
            "raw_path": request.path.encode(), "query_string": request.query, "root_path": "",
            "headers": request.headers, "client": transport.get_extra_info("peername"),
            "server": transport.get_extra_info("sockname"),
        }  # fmt: skip
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        start: Message = {"status": 500, "headers": []}
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.fallback(scope, receive, send)
        answer = b"".join(chunks)
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", b"%d" % len(answer)))
        return int(start["status"]), headers, answer

    def _hold(self, connection: _Connection, data: bytes, request: _Request) -> None:
        """Keep an answer until the store commits; one commit for all the answers of a turn
        (holding answers longer to share commits cost more wake-ups than it saved commits)."""
        if not self._ready:
            self.loop.call_soon(self._commit)
        self._ready.append((connection, data, request.keep_alive))

    def _commit(self) -> None:
        ready, self._ready = self._ready, []
        try:
            self.sib.store.flush()
        except Exception:
            _log.exception("the store could not commit")
            status, headers, body = _problem(503, "the SIB's store could not commit; try again")
            failed = _head(status, headers, False) + body
            ready = [(connection, failed, False) for connection, _, _ in ready]
        for connection, data, keep_alive in ready:
            connection.answered(data, keep_alive)
