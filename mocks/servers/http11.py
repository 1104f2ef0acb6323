"""An HTTP/1.1 server for an ASGI app without an ASGI server: an asyncio protocol on httptools.

A mock's or a SIB's work per request is small (a booking, a CAR, a response relayed to an inbox);
under uvicorn a sixth of the mocks' CPU at intake went to the layer around the app. Here each
request is parsed by httptools, read whole, given to the app as one ASGI call, and its answer
collected and written at once:

* **One write per answer**, with its `date` (RFC 9110; formatted once a second), keep-alive
  (HTTP/1.1, or 1.0 asking for it), pipelined requests answered in order; `Expect: 100-continue`
  is answered before the body is read; a HEAD's answer has its headers only.
* **An answer the app leaves unfinished** (it returns after part of the body, as an injected
  connection reset does) is written as far as it went, and the connection closed.
* **The guard's limits** (`mocks.transport.guard`): idle and slow connections closed, headers
  capped, the connection budget, `request_limit` requests answered at once (503 beyond, `reserve`
  of them kept for the `reserved` paths); bodies are capped at `body_limit` (413, declared or
  sent).
* **Lifespan**: the app's own (ASGI lifespan), or the `lifespan` context given.

`Http11Server` runs like a `uvicorn.Server` (`run`, `started`, `should_exit`), so `server.in_thread`
serves it beside others. A subclass may answer some routes itself (`respond`) and hold answers
until something commits (`hold`), as the reference SIB's server does.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.utils
import http
import importlib.util
import json
import logging
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httptools
from starlette.types import ASGIApp, Message

from ..transport.guard import BACKLOG, Guard, for_process

__all__ = ["BODY_LIMIT", "Answer", "Http11Server", "Request", "head", "problem"]

BODY_LIMIT = 16 * 1024 * 1024
"""The largest request body taken by default (413 beyond)."""

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
"""An answer read whole: status, headers (with their content-length), body."""

_log = logging.getLogger("mocks.servers.http11")
_REASONS = {s.value: s.phrase.encode() for s in http.HTTPStatus}
_PIPELINED = 16
"""Requests queued on one connection (pipelined behind the one being answered) before its
reading pauses."""
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def head(status: int, headers: list[tuple[bytes, bytes]], keep_alive: bool) -> bytes:
    """An answer's status line and header block."""
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b""))]
    lines.extend(b"%s: %s\r\n" % pair for pair in headers)
    if not keep_alive:
        lines.append(b"connection: close\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


def _plain(status: int, text: str) -> Answer:
    body = text.encode()
    kind = (b"content-type", b"text/plain; charset=utf-8")
    return status, [kind, (b"content-length", b"%d" % len(body))], body


def problem(status: int, detail: str) -> Answer:
    """An RFC 9457 problem answer."""
    body = json.dumps({"type": "about:blank", "title": _REASONS[status].decode(),
                       "status": status, "detail": detail}).encode()  # fmt: skip
    kind = (b"content-type", b"application/problem+json")
    return status, [kind, (b"content-length", b"%d" % len(body))], body


class Request:
    """A request read whole: what the app (or a subclass's own handler) is given."""

    __slots__ = ("body", "headers", "keep_alive", "method", "path", "query")

    def __init__(self) -> None:
        self.method = ""
        self.path = ""
        self.query = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.keep_alive = True


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: requests parsed by httptools, answered one at a time, in order."""

    loop: asyncio.AbstractEventLoop

    def __init__(self, server: Http11Server) -> None:
        self.server = server
        self.loop = server.loop
        self.transport: Any = None
        self.parser = httptools.HttpRequestParser(self)
        self.request = Request()
        self.url = b""
        self.size = 0
        self.queue: collections.deque[Request] = collections.deque()
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
        self.request = Request()
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
        limit = self.server.body_limit
        for name, value in request.headers:
            if name == b"content-length" and value.strip().isdigit() and int(value) > limit:
                self._too_large(f"declares {int(value)}")
                return
            if name == b"expect" and value.lower() == b"100-continue" and not self.busy:
                self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.server.body_limit:
            self._too_large("is")
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
    def _start(self, request: Request) -> None:
        self.busy = True
        self.server.answer(self, request)

    def answered(self, data: bytes, keep_alive: bool) -> None:
        """Write an answer; take the next request (or close, when the answer says so)."""
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

    def _too_large(self, what: str) -> None:
        limit = self.server.body_limit
        rule = f"rule: at most {limit} bytes"
        self._reject(*problem(413, f"the request body {what} over {limit} bytes ({rule})"))

    def _reject(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        if not self.closed:
            self.closed = True
            self.transport.write(head(status, headers, False) + body)
            self.transport.close()

    def close_now(self) -> None:
        """Close the connection (the guard found it idle)."""
        if not self.closed:
            self.closed = True
            self.transport.close()


class _Unfinished(Exception):
    """The app returned before its answer was whole: what it sent, to write before closing."""

    def __init__(self, data: bytes) -> None:
        super().__init__("the app returned before its answer was whole")
        self.data = data


class Http11Server:
    """`app` (ASGI) served on `host`:`port` within `guard`'s limits."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 8700,
        log_level: str = "warning",
        fast_loop: bool = True,
        guard: Guard | None = None,
        reserved: tuple[str, ...] = ("/health",),
        body_limit: int = BODY_LIMIT,
        lifespan: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
    ) -> None:
        self.app = app
        self.host, self.port = host, port
        self.fast_loop = fast_loop and importlib.util.find_spec("uvloop") is not None
        self.guard = guard or for_process()
        self.reserved = reserved
        self.body_limit = body_limit
        self.lifespan = lifespan or self._asgi_lifespan
        _log.setLevel(log_level.upper())
        self.started = False
        self.should_exit = False
        self.loop: asyncio.AbstractEventLoop
        self._in_flight: set[asyncio.Task[None]] = set()
        self._second = -1
        self._date = b""

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
        async with self.lifespan():
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
        self.drained()
        for connection in list(self.guard.open):
            if isinstance(connection, _Connection) and connection.server is self:
                connection.close_now()

    def drained(self) -> None:
        """Called once the requests being answered at shutdown have finished (a subclass writes
        what it holds)."""

    @contextlib.asynccontextmanager
    async def _asgi_lifespan(self) -> AsyncIterator[None]:
        """The app's ASGI lifespan: started before the first request, shut down after the last."""
        inbox: asyncio.Queue[Message] = asyncio.Queue()
        outbox: asyncio.Queue[Message] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}

        async def run() -> None:
            try:
                await self.app(scope, inbox.get, outbox.put)
            except BaseException as exc:  # an app without a lifespan raises on its scope
                await outbox.put({"type": "lifespan.unsupported", "message": repr(exc)})
                raise

        task = asyncio.create_task(run())
        await inbox.put({"type": "lifespan.startup"})
        started = await outbox.get()
        if started["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"the app did not start: {started.get('message', '')}")
        supported = started["type"] == "lifespan.startup.complete"
        try:
            yield
        finally:
            if supported:
                await inbox.put({"type": "lifespan.shutdown"})
                await outbox.get()
            with contextlib.suppress(BaseException):
                await task

    # -- answering ---------------------------------------------------------------------------

    def answer(self, connection: _Connection, request: Request) -> None:
        """Answer `request` in a task of its own (the app may wait on others)."""
        guard = self.guard
        limit = guard.request_limit
        if not request.path.startswith(self.reserved):
            limit -= guard.reserve
        if guard.answering >= limit:
            guard.refused += 1
            status, headers, body = problem(
                503, f"{guard.answering} requests are being answered (rule: at most {limit} at "
                "once); try again")  # fmt: skip
            headers.append((b"retry-after", b"1"))
            self.hold(connection, self._head(status, headers, request.keep_alive) + body, request)
            return
        guard.answering += 1
        task = self.loop.create_task(self._answer(connection, request))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _answer(self, connection: _Connection, request: Request) -> None:
        try:
            status, headers, body = await self.respond(connection, request)
        except _Unfinished as unfinished:
            connection.answered(unfinished.data, False)
            return
        except Exception:
            _log.exception("%s %s failed", request.method, request.path)
            status, headers, body = _plain(500, "Internal Server Error")
            request.keep_alive = False
        finally:
            self.guard.answering -= 1
        if request.method == "HEAD":
            body = b""
        self.hold(connection, self._head(status, headers, request.keep_alive) + body, request)

    def _head(self, status: int, headers: list[tuple[bytes, bytes]], keep_alive: bool) -> bytes:
        """An answer's head, with its `date`."""
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._date = email.utils.formatdate(second, usegmt=True).encode()
        return head(status, [*headers, (b"date", self._date)], keep_alive)

    async def respond(self, connection: _Connection, request: Request) -> Answer:
        """The answer to `request`: the app's, read whole (a subclass may answer some itself)."""
        transport = connection.transport
        body = b"".join(request.body)
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

        start: Message | None = None
        chunks: list[bytes] = []
        whole = False

        async def send(message: Message) -> None:
            nonlocal start, whole
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                whole = not message.get("more_body", False)

        await self.app(scope, receive, send)
        answer = b"".join(chunks)
        if start is None:
            raise RuntimeError("the app returned without starting an answer")
        status, given = int(start["status"]), list(start.get("headers", []))
        if not whole:
            raise _Unfinished(head(status, given, False) + answer)
        headers = [(k, v) for k, v in given if k.lower() != b"content-length"]
        headers.append((b"content-length", b"%d" % len(answer)))
        return status, headers, answer

    def hold(self, connection: _Connection, data: bytes, request: Request) -> None:
        """Write an answer (a subclass may hold it until something commits)."""
        connection.answered(data, request.keep_alive)
