"""The mocks' endpoints besides intake: the IDENT search, the LESC IAQ, the LEA inboxes the SIB
routes to (`LeaInbox`, a hot path: two posts a booking, as lean an ASGI app as intake), health and
the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import orjson
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from ..state.service import MockService
from ..storage.ledger import NotWritable
from ..transport.bodies import json_body, ori_checked, parsed, raw_headers, receive_bytes
from ..transport.problem import Problem, check, not_recorded, unauthorized
from .openapi import openapi

__all__ = ["Endpoints", "LeaInbox", "is_lea_inbox"]

_HEADERS = frozenset({b"content-type", b"x-interop-message-id", b"content-length"})


def is_lea_inbox(path: str) -> bool:
    """Whether `path` is `/lea/{ori}/inbox` (`{ori}` one segment, as the router matches it)."""
    return (
        path.startswith("/lea/")
        and path.endswith("/inbox")
        and path.count("/") == 3
        and len(path) > len("/lea//inbox")
    )


class LeaInbox:
    """`POST /lea/{ori}/inbox`, a message the SIB routes to an LEA, as an ASGI app: 202 with its
    ledger id; 503 while the scenario has the inbox down; off loopback, 401 without the admin
    token (`authorized`). Its refusals are the same `Problem`s as every other endpoint's."""

    def __init__(self, service: MockService, authorized: Callable[[Mapping[str, str]], bool]):
        self.service = service
        self.authorized = authorized

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            ledger_id = await self._take(scope, receive)
        except Problem as problem:
            await problem.response()(scope, receive, send)
            return
        except NotWritable as error:
            await not_recorded(error).response()(scope, receive, send)
            return
        except ClientDisconnect:
            return
        # A ledger id holds an ORI, a message id the SIB chose and hex: JSON-escaped here.
        answer = b'{"id":' + orjson.dumps(ledger_id) + b"}"
        headers = [
            (b"content-length", str(len(answer)).encode()),
            (b"content-type", b"application/json"),
        ]
        await send({"type": "http.response.start", "status": 202, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    async def _take(self, scope: Scope, receive: Receive) -> str:
        service = self.service
        if service.exposed and not self.authorized(Headers(scope=scope)):
            raise unauthorized()
        ori = ori_checked(scope["path"].split("/")[2])
        headers = raw_headers(scope, _HEADERS)
        message_id = headers.get(b"x-interop-message-id")
        raw = await receive_bytes(headers.get(b"content-length"), receive)  # capped as it comes
        if await service.lea_refuses(ori, raw, message_id):
            raise Problem(503, "Service Unavailable", f"the inbox of {ori} is down (scenario)")
        document, text = parsed(raw, headers.get(b"content-type", ""))
        return await service.lea_receive(ori, document, message_id, text=text)


class Endpoints:
    """The handlers over `service`."""

    def __init__(self, service: MockService) -> None:
        self.service = service

    async def ident_search(self, request: Request) -> Response:
        """`POST /ident/searches`: a CAR searched in the synthetic IDENT repository."""
        document = await json_body(request)
        check("car", document, "CAR")
        return JSONResponse(self.service.ident_search(document))

    async def lesc_iaq(self, request: Request) -> Response:
        """`POST /lesc/iaq`: an IAQ answered with LESC's determination."""
        document = await json_body(request)
        check("iaq", document, "IAQ")
        return JSONResponse(self.service.lesc_determine(document))

    async def health(self, request: Request) -> Response:
        """`GET /health`."""
        return JSONResponse(await self.service.health())

    async def openapi_json(self, request: Request) -> Response:
        """`GET /openapi.json`: the mocks' OpenAPI 3.1 document."""
        return JSONResponse(openapi())
