"""The mocks' endpoints besides intake: the IDENT search, the LESC IAQ, the LEA inboxes the SIB
routes to, health and the OpenAPI document."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..state.service import MockService
from ..transport.bodies import json_body, ori_of, parsed, request_bytes
from ..transport.problem import Problem, check
from .openapi import openapi

__all__ = ["Endpoints"]


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

    async def lea_post(self, request: Request) -> Response:
        """`POST /lea/{ori}/inbox`: a message the SIB routes to an LEA (503 while it is down)."""
        ori = ori_of(request)
        message_id = request.headers.get("x-interop-message-id")
        raw = await request_bytes(request)  # capped as it streams in, never buffered whole
        if await self.service.lea_refuses(ori, raw, message_id):
            raise Problem(503, "Service Unavailable", f"the inbox of {ori} is down (scenario)")
        document, text = parsed(raw, request.headers.get("content-type", ""))
        ledger_id = await self.service.lea_receive(ori, document, message_id, text=text)
        return JSONResponse({"id": ledger_id}, 202)

    async def health(self, request: Request) -> Response:
        """`GET /health`."""
        return JSONResponse(await self.service.health())

    async def openapi_json(self, request: Request) -> Response:
        """`GET /openapi.json`: the mocks' OpenAPI 3.1 document."""
        return JSONResponse(openapi())
