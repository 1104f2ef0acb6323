"""The mock federal endpoints as one ASGI app (paths per endpoint; OpenAPI 3.1 at /openapi.json).

The route table is here; the handlers are by concern: `intake` (`POST /cjis/submissions`, the hot
path, taken straight to its app without the router), `endpoints` (IDENT, LESC, LEA inboxes, health,
OpenAPI) and `admin` (behind the admin token). Every refusal is a `Problem`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..state.service import MockService
from ..storage.ledger import NotWritable
from ..transport.problem import Problem, not_recorded
from .admin import Admin, Handler
from .endpoints import Endpoints, LeaInbox, is_lea_inbox
from .intake import Intake
from .nlets import Nlets

__all__ = ["create_app"]

_INTAKE = "/cjis/submissions"


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return exc.response()


async def _http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return Problem(exc.status_code, str(exc.detail), f"{request.method} {request.url.path}: "
                   f"{exc.detail}", headers=exc.headers).response()  # fmt: skip


async def _not_recorded(request: Request, exc: Exception) -> Response:
    return not_recorded(exc).response()


def _health(service: MockService, admin: Admin, endpoints: Endpoints) -> Handler:
    """`GET /health`; off loopback, without the admin token, only its status (its details show the
    SIB's callback and what is owed)."""

    async def health(request: Request) -> Response:
        if service.exposed and not admin.authorized(request.headers):
            return JSONResponse(service.status())
        return await endpoints.health(request)

    return health


class _ByMethod:
    """One route's ASGI app answering POST with `post` and GET (or HEAD) with `get`."""

    def __init__(self, *, post: ASGIApp, get: ASGIApp) -> None:
        self.post, self.get = post, get

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (self.post if scope["method"] == "POST" else self.get)(scope, receive, send)


def create_app(service: MockService) -> Starlette:
    """The ASGI app over `service`; its lifespan starts and stops the service."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    intake, endpoints, admin = Intake(service), Endpoints(service), Admin(service)
    inbox = LeaInbox(service, admin.authorized)
    guard = admin.guard
    routes = [
        Route(_INTAKE, intake, methods=["POST"]),
        Route("/ident/searches", endpoints.ident_search, methods=["POST"]),
        Route("/lesc/iaq", endpoints.lesc_iaq, methods=["POST"]),
        Route("/nlets/messages", Nlets(service).messages, methods=["POST"]),
        Route("/dro/inbox", guard(admin.dro_inbox), methods=["GET"]),
        # One route for both methods, so that a 405 (an OPTIONS) names both in `Allow`.
        Route(
            "/lea/{ori}/inbox",
            _ByMethod(post=inbox, get=request_response(guard(admin.lea_inbox))),
            methods=["GET", "POST"],
        ),
        Route("/admin/clock", guard(admin.clock), methods=["GET"]),
        Route("/admin/clock/advance", guard(admin.advance), methods=["POST"]),
        Route("/admin/scenario", guard(admin.scenario), methods=["GET", "POST"]),
        Route("/admin/reset", guard(admin.reset), methods=["POST"]),
        Route("/admin/ledger", guard(admin.ledger), methods=["GET"]),
        Route("/health", _health(service, admin, endpoints), methods=["GET"]),
        Route("/openapi.json", endpoints.openapi_json, methods=["GET"]),
    ]
    app = _MockApp(
        routes=routes,
        exception_handlers={
            Problem: _problem,
            HTTPException: _http_problem,
            NotWritable: _not_recorded,
        },
        lifespan=lifespan,
    )
    app.intake, app.inbox = intake, inbox
    return app


class _MockApp(Starlette):
    """Starlette, with the hot paths `POST /cjis/submissions` and `POST /lea/{ori}/inbox` taken
    straight to their apps, past the middleware stack and the router (each answers its own
    problems)."""

    intake: ASGIApp | None = None
    inbox: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            if path == _INTAKE and self.intake is not None:
                await self.intake(scope, receive, send)
                return
            if self.inbox is not None and is_lea_inbox(path):
                await self.inbox(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
