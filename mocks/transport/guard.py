"""No lock-out by idle or slow clients: the mocks' limits on connections, over HTTP and SMTP.

* **Descriptors**: at start the process's soft `nofile` limit is raised to its hard limit
  (`raise_nofile`), and what it allows, less a spare for the ledger, logs and outbound clients, is
  split between HTTP and SMTP (`budget`), so that neither can take the other's descriptors.
* **HTTP connections** (uvicorn's httptools protocol, `Guard.protocol`): a connection that sends
  nothing for `idle_seconds` is closed; a request's line and headers must all arrive within
  `header_seconds` of its first byte (else 408 and closed: no slowloris) and hold at most
  `header_limit` bytes (else 431 and closed, before they are buffered). At the HTTP share of the
  budget, a new connection closes the connection idle longest (one that is not being answered),
  so idle sockets never lock anyone out; only when every connection is being answered is the new
  one refused (503).
* **Requests** (`Guard.admit`, an ASGI wrapper): at most `request_limit` are answered at once; the
  last `reserve` of them are kept for `/health` and the admin API, so an operator can still look
  and act while the endpoints are saturated. Beyond, 503 with `Retry-After` at once (no pile-up).
* **SMTP sessions** (`Guard.smtp`): at most the SMTP share of the budget at once (a session beyond
  is told 421 and closed), each closed after `smtp_idle_seconds` without a command.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from aiosmtpd.smtp import SMTP
from starlette.types import ASGIApp, Receive, Scope, Send

from .problem import Problem

__all__ = [
    "BACKLOG",
    "DESCRIPTOR_SPARE",
    "HEADER_LIMIT",
    "HEADER_SECONDS",
    "IDLE_SECONDS",
    "REQUEST_LIMIT",
    "RESERVE",
    "RESERVED",
    "SMTP_IDLE_SECONDS",
    "Budget",
    "Guard",
    "budget",
    "for_process",
    "raise_nofile",
]

BACKLOG = 2048
"""Connections the kernel queues before they are accepted (HTTP and SMTP alike: a burst of
connections is not made to wait a second for a SYN sent again)."""
IDLE_SECONDS = 5.0
"""A connection that sends nothing (before its first request, or between requests) is closed."""
HEADER_SECONDS = 10.0
"""A request's line and headers must all arrive within this many seconds of its first byte."""
HEADER_LIMIT = 64 * 1024
"""The most bytes of request line and headers taken (431 beyond, before they are buffered)."""
REQUEST_LIMIT = 1024
"""Requests answered at once; beyond, 503 with Retry-After at once."""
RESERVE = 32
"""Of `REQUEST_LIMIT`, those kept for `/health` and the admin API."""
SMTP_IDLE_SECONDS = 30.0
"""An SMTP session that sends no command for this many seconds is closed."""
DESCRIPTOR_SPARE = 256
"""Descriptors kept out of the budget: the ledger's files, logs, outbound connections."""
_HTTP_SHARE = 0.75
RESERVED = ("/health", "/admin/")
"""The paths `reserve` is kept for."""
_EOH = b"\r\n\r\n"


class Budget(NamedTuple):
    """The connections each server may hold open at once."""

    http: int
    smtp: int


def raise_nofile() -> int:
    """Raise this process's soft `nofile` limit to its hard limit; the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


def budget(nofile: int) -> Budget:
    """`nofile` descriptors, less `DESCRIPTOR_SPARE`, split between HTTP and SMTP."""
    usable = max(64, nofile - DESCRIPTOR_SPARE)
    http = max(32, int(usable * _HTTP_SHARE))
    return Budget(http=http, smtp=max(16, usable - http))


def _raw(status: bytes, reason: str) -> bytes:
    body = reason.encode()
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n"
        b"retry-after: 1\r\n\r\n" + body
    )


_TOO_MANY = _raw(b"503 Service Unavailable", "every connection is being answered; try again")
_SLOW = _raw(b"408 Request Timeout", "the request's headers did not arrive in time")
_BIG = _raw(b"431 Request Header Fields Too Large", f"headers over {HEADER_LIMIT} bytes")


class Guard:
    """The limits of one process's servers (see the module); `for_process()` is the default."""

    def __init__(
        self,
        *,
        connections: Budget | None = None,
        idle_seconds: float = IDLE_SECONDS,
        header_seconds: float = HEADER_SECONDS,
        header_limit: int = HEADER_LIMIT,
        request_limit: int = REQUEST_LIMIT,
        reserve: int = RESERVE,
        smtp_idle_seconds: float = SMTP_IDLE_SECONDS,
    ) -> None:
        if not 0 <= reserve < request_limit:
            raise ValueError(f"reserve: {reserve} must be from 0 to request_limit - 1")
        self.connections = connections or budget(raise_nofile())
        self.idle_seconds = idle_seconds
        self.header_seconds = header_seconds
        self.header_limit = header_limit
        self.request_limit = request_limit
        self.reserve = reserve
        self.smtp_idle_seconds = smtp_idle_seconds
        self.open: dict[Any, None] = {}
        """The HTTP connections open, oldest first."""
        self.smtp_sessions = 0
        self.answering = 0
        """Requests being answered now."""
        self.evicted = 0
        """Idle HTTP connections closed to make room for a new one."""
        self.refused = 0
        """Connections and requests refused at a limit (HTTP 503, SMTP 421)."""

    def __repr__(self) -> str:
        return f"Guard({self.connections}, open={len(self.open)}, smtp={self.smtp_sessions})"

    # -- HTTP --------------------------------------------------------------------------------

    def protocol(self, base: type[Any]) -> type[Any]:
        """uvicorn's httptools protocol class `base`, guarded by these limits."""
        return type("Guarded" + base.__name__, (_Guarded, base), {"guard": self})

    def _joined(self, connection: _Guarded) -> bool:
        """Admit a new connection (closing the one idle longest at the cap); whether it is."""
        self.open[connection] = None
        if len(self.open) <= self.connections.http:
            return True
        idle = min(
            (c for c in self.open if c is not connection and c.waiting),
            key=lambda c: c.last_seen,
            default=None,
        )
        if idle is None:
            self.refused += 1
            return False
        self.evicted += 1
        idle.close_now()
        return True

    def _left(self, connection: _Guarded) -> None:
        self.open.pop(connection, None)

    def admit(self, app: ASGIApp) -> ASGIApp:
        """`app`, answering 503 beyond `request_limit` requests at once (`reserve` of them kept
        for `/health` and the admin API)."""

        async def admitted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            limit = self.request_limit
            if not scope["path"].startswith(RESERVED):
                limit -= self.reserve
            if self.answering >= limit:
                self.refused += 1
                problem = Problem(
                    503,
                    "Service Unavailable",
                    f"{self.answering} requests are being answered (rule: at most {limit} at "
                    "once); try again",
                    headers={"retry-after": "1"},
                )
                await problem.response()(scope, receive, send)
                return
            self.answering += 1
            try:
                await app(scope, receive, send)
            finally:
                self.answering -= 1

        return admitted

    # -- SMTP --------------------------------------------------------------------------------

    def smtp(self, handler: Any, **options: Any) -> Callable[[], SMTP]:
        """A protocol factory for aiosmtpd sessions of `handler`, within these limits."""
        return lambda: _GuardedSmtp(handler, guard=self, timeout=self.smtp_idle_seconds, **options)


class _Guarded:
    """The guard's hooks on uvicorn's httptools protocol (mixed in before it)."""

    guard: Guard
    transport: Any
    loop: asyncio.AbstractEventLoop

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self.last_seen = time.monotonic()
        self.waiting = True  # not being answered: before a request, or between two
        self._head = 0
        self._timer: asyncio.TimerHandle | None = None
        self._arm(self.guard.idle_seconds, None)
        if not self.guard._joined(self):
            self._refuse(_TOO_MANY)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard._left(self)
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self, seconds: float, answer: bytes | None) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._expired, answer)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self, answer: bytes | None) -> None:
        self._timer = None
        if answer is None:
            self.close_now()
        else:
            self._refuse(answer)

    def _refuse(self, answer: bytes) -> None:
        transport = self.transport
        if not transport.is_closing():
            transport.write(answer)
            transport.close()

    def close_now(self) -> None:
        """Close the connection (it is idle)."""
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.last_seen = time.monotonic()
        if self.waiting:
            if self._head == 0:  # a request's first byte: its headers are due in time
                self._arm(self.guard.header_seconds, _SLOW)
            end = data.find(_EOH)
            self._head += len(data) if end < 0 else end
            if self._head > self.guard.header_limit:
                self._disarm()
                self._refuse(_BIG)
                return
        super().data_received(data)  # type: ignore[misc]

    def on_headers_complete(self) -> None:
        self.waiting = False
        self._head = 0
        self._disarm()
        super().on_headers_complete()  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self.waiting = True
        self._head = 0
        self.last_seen = time.monotonic()
        self._arm(self.guard.idle_seconds, None)


_LINES_PER_TURN = 64
"""SMTP lines read before the session lets the event loop turn (aiosmtpd reads a buffered mail's
lines without ever yielding: 200,000 lines held HTTP for 400 ms)."""


def _yielding(reader: asyncio.StreamReader) -> None:
    """Make `reader.readuntil` let the event loop turn every `_LINES_PER_TURN` lines."""
    readuntil = reader.readuntil
    read = 0

    async def yielding(separator: bytes = b"\n") -> bytes:
        nonlocal read
        read += 1
        if read % _LINES_PER_TURN == 0:
            await asyncio.sleep(0)
        return await readuntil(separator)

    reader.readuntil = yielding  # type: ignore[method-assign,assignment]


class _GuardedSmtp(SMTP):
    """An aiosmtpd session counted against the guard's SMTP share (421 beyond it), letting the
    event loop turn while it reads a long mail."""

    def __init__(self, handler: Any, *, guard: Guard, **options: Any) -> None:
        super().__init__(handler, **options)
        self._guard = guard
        self._counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        guard = self._guard
        if guard.smtp_sessions >= guard.connections.smtp:
            guard.refused += 1
            write = getattr(transport, "write", None)
            if write is not None:
                write(b"421 4.7.0 too many sessions; try again later\r\n")
            transport.close()
            return
        guard.smtp_sessions += 1
        self._counted = True
        super().connection_made(transport)

    def _cb_client_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        _yielding(reader)
        super()._cb_client_connected(reader, writer)

    def connection_lost(self, error: Exception | None) -> None:
        if not self._counted:
            return
        self._counted = False
        self._guard.smtp_sessions -= 1
        super().connection_lost(error)


_PROCESS: Guard | None = None


def for_process() -> Guard:
    """The guard of this process's servers (made once: its `nofile` limit raised and split)."""
    global _PROCESS
    if _PROCESS is None:
        _PROCESS = Guard()
    return _PROCESS
