"""The reference SIB served over HTTP/1.1 without an ASGI server (`mocks.servers.http11`).

The SIB's work per booking is a handful of small HTTP exchanges (the booking, the CAR, the SRE,
IDR and IAR, each relayed to an LEA inbox). Each POST to one of the SIB's routes goes straight to
its handler; anything else (`/health`, unknown paths and methods with their 404 and 405) through
the SIB's Starlette app, so every answer is the one it always was.

* **Group commit**: an answer is held until the SIB's store has committed what led to it; the
  answers ready in one turn of the event loop follow one commit (`Store.flush`), so a SIB killed
  at any moment has on disk everything it acknowledged.
* The rest is the shared server's: one write per answer, keep-alive and pipelining, the mocks'
  limits (`mocks.transport.guard`), bodies capped at `BODY_LIMIT` (413).

`SibServer` runs like a `uvicorn.Server` (`run`, `started`, `should_exit`), so
`mocks.servers.server.in_thread` serves it beside others.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from mocks.servers.http11 import Answer, Http11Server, head, problem
from mocks.servers.http11 import Request as Read

__all__ = ["BODY_LIMIT", "SibServer"]

BODY_LIMIT = 16 * 1024 * 1024
"""The largest request body the SIB takes (413 beyond): a booking or a delivery is a few
kilobytes."""

_log = logging.getLogger("sibs.server")
_Handler = Callable[[Request], Awaitable[Response]]


class _Read(Request):
    """A Starlette request whose body was read already."""

    def __init__(self, scope: Scope, body: bytes) -> None:
        super().__init__(scope)
        self._body = body


class SibServer(Http11Server):
    """`sib` (a `ReferenceSib` or variant) served on `host`:`port` within `guard`'s limits."""

    def __init__(self, sib: Any, *, port: int = 8701, **options: Any) -> None:
        """`options`: `Http11Server`'s (host, log_level, fast_loop, guard)."""
        super().__init__(sib.app, port=port, body_limit=BODY_LIMIT, lifespan=sib.running, **options)
        _log.setLevel(str(options.get("log_level", "warning")).upper())
        self.sib = sib
        self.posts: dict[str, _Handler] = sib.posts
        self._ready: list[tuple[Any, bytes, bool]] = []

    async def respond(self, connection: Any, request: Read) -> Answer:
        handler = self.posts.get(request.path) if request.method == "POST" else None
        if handler is None:
            return await super().respond(connection, request)
        scope = {"type": "http", "method": "POST", "path": request.path,
                 "headers": request.headers, "query_string": request.query}  # fmt: skip
        response = await handler(_Read(scope, b"".join(request.body)))
        return response.status_code, response.raw_headers, bytes(response.body)

    def hold(self, connection: Any, data: bytes, request: Read) -> None:
        """Keep an answer until the store commits; one commit for all the answers of a turn
        (holding answers longer to share commits cost more wake-ups than it saved commits)."""
        if not self._ready:
            self.loop.call_soon(self._commit)
        self._ready.append((connection, data, request.keep_alive))

    def drained(self) -> None:
        self._commit()

    def _commit(self) -> None:
        ready, self._ready = self._ready, []
        try:
            self.sib.store.flush()
        except Exception:
            _log.exception("the store could not commit")
            status, headers, body = problem(503, "the SIB's store could not commit; try again")
            failed = head(status, headers, False) + body
            ready = [(connection, failed, False) for connection, _, _ in ready]
        for connection, data, keep_alive in ready:
            connection.answered(data, keep_alive)
