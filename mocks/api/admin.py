"""The admin API of the mocks (clock, scenario, reset, ledger, inbox reads), behind the optional
bearer token."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..state.service import MockService
from ..storage.records import as_dict
from ..transport.bodies import PAGE_BYTES, json_body, message, ori_of, paging
from ..transport.problem import Problem, check, unauthorized

__all__ = ["Admin", "Handler"]

Handler = Callable[[Request], Awaitable[Response]]


class _Page(JSONResponse):
    """A page of ledgered messages (up to `PAGE_BYTES` of them), written by orjson: Starlette's
    own JSON, as fast as the messages are read."""

    def render(self, content: object) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # an integer past 64 bits (taken as JSON allows it)
            return super().render(content)


class Admin:
    """The admin handlers over `service`; `guard` puts one behind the admin token."""

    def __init__(self, service: MockService) -> None:
        self.service = service

    def guard(self, handler: Handler) -> Handler:
        """`handler`, answering 401 unless the request carries the admin token (when one is set)."""

        async def guarded(request: Request) -> Response:
            if not self.authorized(request.headers):
                raise unauthorized()
            return await handler(request)

        return guarded

    def authorized(self, headers: Mapping[str, str]) -> bool:
        """Whether a request with these `headers` carries the admin token (always, when none is
        set)."""
        token = self.service.admin_token
        if token is None:
            return True
        given = headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    async def _inbox(self, request: Request, channel: str) -> Response:
        after, limit = paging(request)
        page = await self.service.ledger.page(
            channel=channel, after=after, limit=limit, max_bytes=PAGE_BYTES
        )
        messages = [
            {
                "id": row.id,
                "virtual_time": row.virtual_time,
                "tot": row.tot,
                "tcr": row.tcr,
                "message": message(row.body),
            }
            for row in page.rows
        ]
        return _Page({"messages": messages, "next": page.next})

    async def lea_inbox(self, request: Request) -> Response:
        """`GET /lea/{ori}/inbox`: what the SIB routed to that LEA."""
        return await self._inbox(request, f"lea:{ori_of(request)}")

    async def dro_inbox(self, request: Request) -> Response:
        """`GET /dro/inbox`: the copies LESC sent the DRO."""
        return await self._inbox(request, "dro")

    async def clock(self, request: Request) -> Response:
        """`GET /admin/clock`."""
        return JSONResponse(self.service.clock.state())

    async def advance(self, request: Request) -> Response:
        """`POST /admin/clock/advance`: move a manual clock, settling what falls due."""
        body = await json_body(request)
        check("api.json#/$defs/advance", body, "advance request")
        mode = self.service.clock.mode
        if mode != "manual":
            raise Problem(
                409,
                "Conflict",
                f"the clock is {mode}; only a manual clock is advanced (rule: mode)",
            )
        try:
            done = await self.service.advance(
                float(body["seconds"]), wait=float(body.get("wait", 30))
            )
        except ValueError as exc:
            path, _, message = str(exc).partition(": ")
            raise Problem(
                400,
                "Bad Request",
                str(exc),
                [{"path": path, "rule": "range", "message": message}],
            ) from None
        return JSONResponse(done)

    async def scenario(self, request: Request) -> Response:
        """`GET` or `POST /admin/scenario`."""
        if request.method == "POST":
            body = await json_body(request)
            check("scenario", body, "scenario")
            try:
                await self.service.set_scenario(body)
            except ValueError as exc:
                raise Problem(400, "Bad Request", str(exc)) from None
        return JSONResponse(self.service.scenario.document)

    async def reset(self, request: Request) -> Response:
        """`POST /admin/reset`: an empty ledger."""
        await self.service.reset()
        return Response(status_code=204)

    async def ledger(self, request: Request) -> Response:
        """`GET /admin/ledger`: a page of ledgered messages, each with its delivery owed."""
        query = request.query_params
        after, limit = paging(request)
        ledger = self.service.ledger
        page = await ledger.page(
            tcn=query.get("tcn"),
            ori=query.get("ori"),
            channel=query.get("channel"),
            tot=query.get("tot"),
            after=after,
            limit=limit,
            max_bytes=PAGE_BYTES,
        )
        owed = await ledger.deliveries([r.id for r in page.rows if r.channel == "sib"])
        entries = []
        for row in page.rows:
            entry = as_dict(row)
            entry["message"] = message(str(entry.pop("body")))
            delivery = owed.get(row.id) if row.channel == "sib" else None
            entry["delivery"] = as_dict(delivery) if delivery is not None else None
            entries.append(entry)
        return _Page({"entries": entries, "next": page.next})
