"""Outbound HTTP: a lean HTTP/1.1 keep-alive pool, or an httpx transport when one is given.

A message switch's traffic is small POSTs to a few origins, a few dozen in flight. At that load
(`python bench/client.py`: 2 KB POSTs, 32 in flight) httpx's own pool costs about 2 ms of CPU a
request on these machines, aiohttp's about 0.11-0.19 ms and this pool about 0.06-0.08 ms: one write
per request, httptools (uvicorn's parser) for the answer, no per-request URL, cookie, auth or
redirect work. The courier, the reference SIB and the replay use it; tests keep injecting httpx
transports (respx, ASGI, mock transports), which `Outbound` then sends through instead.

Errors are httpx's (`httpx.ConnectError`, `httpx.TimeoutException`, `httpx.RemoteProtocolError`),
so callers catch `httpx.HTTPError` whichever path carried the request.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
from collections.abc import Mapping
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

import httptools
import httpx

from .._utils import read_json

__all__ = ["KEEP_ALIVE_SECONDS", "Answer", "Outbound"]

KEEP_ALIVE_SECONDS = 1.0
"""An idle connection is not used again after this long: well inside the 5 s after which uvicorn
(ours, and most servers' defaults) closes one, so a request never goes out on a connection the
server is closing at that moment (a POST lost in that race is not retried)."""


class Answer(NamedTuple):
    """A response, read whole."""

    status_code: int
    content: bytes

    def json(self) -> Any:
        return read_json(self.content)


class _Origin(NamedTuple):
    scheme: str
    host: str
    port: int


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: a request at a time, its answer parsed by httptools."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Answer] | None = None
        self.closed = False
        self.keep_alive = True
        self.idle_since = 0.0
        self._status = 0
        self._body: list[bytes] = []
        self._headers_done = False
        self._framed = False  # Content-Length or chunked: else the body ends when the peer closes

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._headers_done and not self._framed and self._status >= 200:
            self._finish(Answer(self._status, b"".join(self._body)))
        else:
            self._fail(httpx.RemoteProtocolError("the server closed the connection"))

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.close()
            self._fail(httpx.RemoteProtocolError(f"a malformed answer: {exc}"))

    def send(self, request: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None
        self.waiter = self.loop.create_future()
        self._headers_done = self._framed = False
        self.transport.write(request)
        return self.waiter

    def timed_out(self, timeout: float) -> None:
        """No answer came in time: the request fails, the connection is closed (an answer that
        came in the same turn of the loop, before this, stands and keeps the connection)."""
        if self.waiter is not None and not self.waiter.done():
            self._fail(httpx.ReadTimeout(f"no answer within {timeout:g} s"))
            self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._body = []

    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"content-length" or (
            lowered == b"transfer-encoding" and b"chunked" in value.lower()
        ):
            self._framed = True

    def on_headers_complete(self) -> None:
        self._status = self.parser.get_status_code()
        self._headers_done = True
        if self._status in (204, 304) or self._status < 200:
            self._framed = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._status < 200:  # an interim answer (100 Continue): the real one follows
            return
        self.keep_alive = self.parser.should_keep_alive()
        self._finish(Answer(self._status, b"".join(self._body)))

    def _finish(self, answer: Answer) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(answer)

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)


class _Pool:
    """Keep-alive connections by origin, `limit` requests in flight at most, on `loop`.

    Cheap per request: the loop is held (each `asyncio.get_running_loop()` is a `getpid` system
    call on this Python), an idle connection is taken without a coroutine, the answer's deadline
    is one `loop.call_at`, and the limit is a counter (a slot is handed straight to the next
    request waiting for one).
    """

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._idle: dict[_Origin, collections.deque[_Connection]] = collections.defaultdict(
            collections.deque
        )
        self._free = limit
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._tls: ssl.SSLContext | None = None

    async def request(self, origin: _Origin, data: bytes, timeout: float) -> Answer:
        """Send `data` (a request, head and body) to `origin`; the answer."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            await self._slot()
        try:
            connection = self._idle_connection(origin)
            if connection is None:
                connection = await self._connect(origin, timeout)
            loop = self._loop
            waiter = connection.send(data)
            deadline = loop.call_at(loop.time() + timeout, connection.timed_out, timeout)
            try:
                answer = await waiter
            except BaseException:
                connection.close()
                raise
            finally:
                deadline.cancel()
            if connection.keep_alive and not connection.closed:
                connection.idle_since = loop.time()
                self._idle[origin].append(connection)
            else:
                connection.close()
            return answer
        finally:
            self._release()

    async def _slot(self) -> None:
        """Wait for a slot; a slot is handed over by `_release` (`_free` is not raised)."""
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiting.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a slot, then cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiting.remove(waiter)
            raise

    def _release(self) -> None:
        waiting = self._waiting
        while waiting:
            waiter = waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    def _idle_connection(self, origin: _Origin) -> _Connection | None:
        """The most recently used idle connection to `origin` still fresh, if any."""
        idle = self._idle.get(origin)
        if not idle:
            return None
        fresh = self._loop.time() - KEEP_ALIVE_SECONDS
        while idle:
            connection = idle.pop()
            if not connection.closed and connection.idle_since > fresh:
                return connection
            connection.close()
        return None

    async def _connect(self, origin: _Origin, timeout: float) -> _Connection:
        loop = self._loop
        tls = None
        if origin.scheme == "https":
            tls = self._tls = self._tls or ssl.create_default_context()
        try:
            async with asyncio.timeout(timeout):
                _, protocol = await loop.create_connection(
                    lambda: _Connection(loop), origin.host, origin.port, ssl=tls
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection within {timeout:g} s") from None
        except OSError as exc:
            raise httpx.ConnectError(f"{origin.host}:{origin.port}: {exc}") from None
        return protocol

    def close(self) -> None:
        for idle in self._idle.values():
            while idle:
                idle.pop().close()


def _split(url: str) -> tuple[_Origin, str, str]:
    """The origin, the request target and the Host header of an http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise httpx.UnsupportedProtocol(f"not an http(s) URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Origin(parts.scheme, parts.hostname, port), target, parts.netloc


_TARGETS = 1024
"""Requests' first lines kept, by method and URL (the SIB's and the courier's URLs are a few)."""


class Outbound:
    """Requests through `transport` (httpx's API), or through a lean pool of `connections`."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
        connections: int = 64,
    ) -> None:
        self._transport = transport
        self._connections = connections
        self._pool: _Pool | None = None
        self._targets: dict[tuple[str, str], tuple[_Origin, str]] = {}
        """Each method and URL's origin and head up to its headers (parsed once)."""
        self.timeout = timeout

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        """POST `body`; the answer, read. Raises `httpx.HTTPError` when there is none."""
        return await self.request("POST", url, body, headers)

    async def get(self, url: str, *, timeout: float | None = None) -> Answer:
        return await self.request("GET", url, timeout=timeout)

    async def request(
        self,
        method: str,
        url: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float | None = None,
    ) -> Answer:
        """Send a request; the answer, read. Raises `httpx.HTTPError` when there is none."""
        seconds = self.timeout if timeout is None else timeout
        if self._transport is not None:
            return await self._through_transport(method, url, body, headers or {}, seconds)
        known = self._targets.get((method, url))
        if known is None:
            origin, target, host = _split(url)
            if len(self._targets) >= _TARGETS:
                self._targets.clear()
            known = self._targets[method, url] = (
                origin,
                f"{method} {target} HTTP/1.1\r\nhost: {host}\r\n",
            )
        origin, first = known
        head = f"{first}content-length: {len(body)}\r\n"
        if headers:
            head += "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
        pool = self._pool
        if pool is None:
            pool = self._pool = _Pool(self._connections, asyncio.get_running_loop())
        return await pool.request(origin, (head + "\r\n").encode("latin-1") + body, seconds)

    async def _through_transport(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], seconds: float
    ) -> Answer:
        assert self._transport is not None
        extensions = {"timeout": httpx.Timeout(seconds).as_dict()}
        request = httpx.Request(method, url, content=body, headers=headers, extensions=extensions)
        response = await self._transport.handle_async_request(request)
        try:
            return Answer(response.status_code, await response.aread())
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._transport is not None:
            await self._transport.aclose()
