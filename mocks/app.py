"""The mock federal endpoints as one ASGI app (paths per endpoint; OpenAPI 3.1 at /openapi.json)."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

import schemas
from wire import MEDIA_TYPE
from wire.ansi_nist import WireError
from wire.codec import decode

from .openapi import SUBMISSION_LIMIT, openapi
from .records import as_dict
from .service import FaultResponse, MockService
from .strictjson import JsonRuleError, loads

__all__ = ["Problem", "create_app"]

_Handler = Callable[[Request], Awaitable[Response]]


class Problem(Exception):
    """An HTTP problem (RFC 9457) naming the fields and rules broken."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        errors: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.headers = headers

    def response(self) -> JSONResponse:
        """The problem as an `application/problem+json` response."""
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        return JSONResponse(
            body, self.status, headers=self.headers, media_type="application/problem+json"
        )


def _violations(found: list[schemas.Problem]) -> list[dict[str, str]]:
    return [{"path": p.path, "rule": p.rule, "message": p.message} for p in found]


def _check(ref: str, document: Any, what: str) -> None:
    found = schemas.problems(ref, document)
    if found:
        listed = "; ".join(str(p) for p in found[:5])
        raise Problem(400, "Bad Request", f"not a valid {what}: {listed}", _violations(found))


async def _json_body(request: Request) -> Any:
    return (await _json_and_text(request))[0]


async def _json_and_text(request: Request) -> tuple[Any, str]:
    """The body parsed strictly, and its text as received (for the ledger)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Problem(400, "Bad Request", f"Content-Length {declared!r} is not a number")
        if int(declared) > SUBMISSION_LIMIT:
            raise Problem(
                413, "Content Too Large", f"the body is over {SUBMISSION_LIMIT} bytes (rule: limit)"
            )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > SUBMISSION_LIMIT:
            raise Problem(
                413, "Content Too Large", f"the body is over {SUBMISSION_LIMIT} bytes (rule: limit)"
            )
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        return loads(raw), raw.decode("utf-8")
    except UnicodeDecodeError:  # UTF-16 or UTF-32 JSON: the ledger keeps it re-encoded
        return loads(raw), json.dumps(loads(raw))
    except JsonRuleError as exc:
        detail = (
            "the body is not JSON" if exc.rule == "json" else f"the body is not strict JSON: {exc}"
        )
        raise Problem(
            400,
            "Bad Request",
            detail,
            [{"path": exc.path, "rule": exc.rule, "message": exc.message}],
        ) from None


async def _ebts_body(request: Request) -> Any:
    """An encoded transaction's JSON document; problems name the record and field (400)."""
    chunks: list[bytes] = []
    async for chunk in request.stream():
        chunks.append(chunk)
        if sum(map(len, chunks)) > SUBMISSION_LIMIT:
            raise Problem(
                413, "Content Too Large", f"the body is over {SUBMISSION_LIMIT} bytes (rule: limit)"
            )
    try:
        return decode(b"".join(chunks))[1]
    except WireError as error:
        errors = [{"path": p.field, "rule": p.code, "message": p.text} for p in error.problems]
        title = "the body is not a readable EBTS transaction"
        raise Problem(400, "Bad Request", title, errors) from None


async def _body(request: Request) -> Any:
    """The JSON document of a request: JSON, or (the EBTS wire) an encoded transaction decoded."""
    return (await _body_and_text(request))[0]


async def _body_and_text(request: Request) -> tuple[Any, str | None]:
    """`_body`, and the JSON text as received (None for an encoded transaction: the ledger
    writes its decoded document)."""
    if request.headers.get("content-type", "").startswith(MEDIA_TYPE):
        return await _ebts_body(request), None
    return await _json_and_text(request)


_PAGE_LIMIT = 1000
_PAGE_BYTES = 8 << 20
"""About the most message bytes one page of `/admin/ledger` or an inbox carries."""


def _paging(request: Request) -> tuple[int, int]:
    """`after` (a cursor from `next`) and `limit` (1..1000) from the query, or a 400."""
    query = request.query_params
    values = {"after": 0, "limit": _PAGE_LIMIT}
    for name, low, high in (("after", 0, 2**62), ("limit", 1, _PAGE_LIMIT)):
        given = query.get(name)
        if given is None:
            continue
        if not given.isdigit() or not low <= int(given) <= high:
            raise Problem(
                400,
                "Bad Request",
                f"{name} must be a whole number from {low} to {high}",
                [{"path": f"$.{name}", "rule": "range", "message": f"{given[:40]!r} is not"}],
            )
        values[name] = int(given)
    return values["after"], values["limit"]


def _message(body: str) -> Any:
    """A ledgered body as JSON, or as the text it is when it is not JSON (a malformed delivery)."""
    try:
        return json.loads(body)
    except ValueError:
        return body


class _InjectedResets(logging.Filter):
    """Keeps the server's log free of the one error line each injected connection reset makes
    ("ASGI callable returned without completing response"): it is the fault working, not a bug.
    Only as many lines are dropped as resets were injected; any other such line still shows."""

    _LINE = "ASGI callable returned without completing response."

    def __init__(self) -> None:
        super().__init__()
        self.owed = 0
        self._lock = threading.Lock()

    def expect_one(self) -> None:
        with self._lock:
            self.owed += 1

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() != self._LINE:
            return True
        with self._lock:
            if self.owed <= 0:
                return True
            self.owed -= 1
            return False


_RESETS = _InjectedResets()
logging.getLogger("uvicorn.error").addFilter(_RESETS)


class _ConnectionReset(Response):
    """Start a 202, send part of it, and stop: the server then drops the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        _RESETS.expect_one()
        await send(
            {
                "type": "http.response.start",
                "status": 202,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"256")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"tcn": ', "more_body": True})


def create_app(service: MockService) -> Starlette:
    """The ASGI app over `service`; its lifespan starts and stops the service."""

    def admin(handler: _Handler) -> _Handler:
        async def guarded(request: Request) -> Response:
            token = service.admin_token
            if token is not None:
                given = request.headers.get("authorization", "")
                if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                    raise Problem(
                        401,
                        "Unauthorized",
                        "the admin API needs 'Authorization: Bearer <token>' (rule: admin token)",
                    )
            return await handler(request)

        return guarded

    async def submissions(request: Request) -> Response:
        body, text = await _body_and_text(request)
        header = body.get("type1") if isinstance(body, dict) else None
        tcn = header.get("tcn") if isinstance(header, dict) else None
        found = schemas.problems("common.json#/$defs/tcn", tcn)
        if tcn is None or found:
            errors = [
                {"path": "$.type1.tcn", "rule": p.rule if tcn is not None else "required",
                 "message": p.message if tcn is not None else "'tcn' is required"}
                for p in (found or [schemas.Problem("$", "required", "", "")])
            ]  # fmt: skip
            raise Problem(
                400,
                "Bad Request",
                "a submission needs a valid $.type1.tcn to be answered (an ERRT names it)",
                errors,
            )
        try:
            ack = await service.submit(body, text=text)
        except FaultResponse as fault:
            if fault.kind == "connection-reset":
                return _ConnectionReset()
            status = {"http-503": 503, "http-400": 400}.get(fault.kind, 500)
            raise Problem(
                status,
                {503: "Service Unavailable", 400: "Bad Request"}.get(
                    status, "Internal Server Error"
                ),
                f"injected by the scenario: {fault}",
                headers={"retry-after": "1"} if status == 503 else None,
            ) from None
        # The TCN and the time hold only JSON-safe characters (their schemas' patterns).
        tcn, status, when = ack["tcn"], ack["status"], ack["virtual_time"]
        body = f'{{"tcn":"{tcn}","status":"{status}","virtual_time":"{when}"}}'
        return Response(body.encode(), 202, media_type="application/json")

    async def ident_searches(request: Request) -> Response:
        body = await _json_body(request)
        _check("car", body, "CAR")
        return JSONResponse(service.ident_search(body))

    async def lesc_iaq(request: Request) -> Response:
        body = await _json_body(request)
        _check("iaq", body, "IAQ")
        return JSONResponse(service.lesc_determine(body))

    def _ori(request: Request) -> str:
        ori = str(request.path_params["ori"])
        found = schemas.problems("common.json#/$defs/ori", ori)
        if found:
            raise Problem(
                400,
                "Bad Request",
                f"{ori!r} is not an ORI",
                [{"path": "$.ori", "rule": p.rule, "message": p.message} for p in found],
            )
        return ori

    async def lea_post(request: Request) -> Response:
        ori = _ori(request)
        message_id = request.headers.get("x-interop-message-id")
        if await service.lea_refuses(ori, await request.body(), message_id):
            raise Problem(503, "Service Unavailable", f"the inbox of {ori} is down (scenario)")
        body = await _body(request)
        ledger_id = await service.lea_receive(
            ori, body, request.headers.get("x-interop-message-id")
        )
        return JSONResponse({"id": ledger_id}, 202)

    async def inbox(request: Request, channel: str) -> Response:
        after, limit = _paging(request)
        page = await service.ledger.page(
            channel=channel, after=after, limit=limit, max_bytes=_PAGE_BYTES
        )
        messages = [
            {
                "id": row.id,
                "virtual_time": row.virtual_time,
                "tot": row.tot,
                "tcr": row.tcr,
                "message": _message(row.body),
            }
            for row in page.rows
        ]
        return JSONResponse({"messages": messages, "next": page.next})

    async def lea_get(request: Request) -> Response:
        return await inbox(request, f"lea:{_ori(request)}")

    async def dro_inbox(request: Request) -> Response:
        return await inbox(request, "dro")

    async def clock(request: Request) -> Response:
        return JSONResponse(service.clock.state())

    async def advance(request: Request) -> Response:
        body = await _json_body(request)
        _check("api.json#/$defs/advance", body, "advance request")
        if service.clock.mode != "manual":
            raise Problem(
                409,
                "Conflict",
                f"the clock is {service.clock.mode}; only a manual clock is advanced (rule: mode)",
            )
        done = await service.advance(float(body["seconds"]), wait=float(body.get("wait", 30)))
        return JSONResponse(done)

    async def scenario(request: Request) -> Response:
        if request.method == "POST":
            body = await _json_body(request)
            _check("scenario", body, "scenario")
            try:
                await service.set_scenario(body)
            except ValueError as exc:
                raise Problem(400, "Bad Request", str(exc)) from None
        return JSONResponse(service.scenario.document)

    async def reset(request: Request) -> Response:
        await service.reset()
        return Response(status_code=204)

    async def ledger(request: Request) -> Response:
        query = request.query_params
        after, limit = _paging(request)
        page = await service.ledger.page(
            tcn=query.get("tcn"),
            ori=query.get("ori"),
            channel=query.get("channel"),
            after=after,
            limit=limit,
            max_bytes=_PAGE_BYTES,
        )
        owed = await service.ledger.deliveries([r.id for r in page.rows if r.channel == "sib"])
        entries = []
        for row in page.rows:
            entry = as_dict(row)
            entry["message"] = _message(str(entry.pop("body")))
            delivery = owed.get(row.id) if row.channel == "sib" else None
            entry["delivery"] = as_dict(delivery) if delivery is not None else None
            entries.append(entry)
        return JSONResponse({"entries": entries, "next": page.next})

    async def health(request: Request) -> Response:
        return JSONResponse(await service.health())

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(openapi())

    async def problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return exc.response()

    async def http_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return Problem(exc.status_code, str(exc.detail), f"{request.method} {request.url.path}: "
                       f"{exc.detail}", headers=exc.headers).response()  # fmt: skip

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    routes = [
        Route("/cjis/submissions", submissions, methods=["POST"]),
        Route("/ident/searches", ident_searches, methods=["POST"]),
        Route("/lesc/iaq", lesc_iaq, methods=["POST"]),
        Route("/dro/inbox", admin(dro_inbox), methods=["GET"]),
        Route("/lea/{ori}/inbox", lea_post, methods=["POST"]),
        Route("/lea/{ori}/inbox", admin(lea_get), methods=["GET"]),
        Route("/admin/clock", admin(clock), methods=["GET"]),
        Route("/admin/clock/advance", admin(advance), methods=["POST"]),
        Route("/admin/scenario", admin(scenario), methods=["GET", "POST"]),
        Route("/admin/reset", admin(reset), methods=["POST"]),
        Route("/admin/ledger", admin(ledger), methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
    ]
    app = _MockApp(
        routes=routes,
        exception_handlers={Problem: problem, HTTPException: http_problem},
        lifespan=lifespan,
    )
    app.submissions = submissions
    return app


class _MockApp(Starlette):
    """Starlette, with `POST /cjis/submissions` (the hot path) taken straight to its handler."""

    submissions: _Handler | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.submissions
        if (
            handler is None
            or scope["type"] != "http"
            or scope["path"] != "/cjis/submissions"
            or scope["method"] != "POST"
        ):
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        try:
            response = await handler(Request(scope, receive))
        except Problem as problem:
            response = problem.response()
        await response(scope, receive, send)
