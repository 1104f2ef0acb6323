"""`POST /cjis/submissions`, the hot path, as a lean ASGI app: read, parse strictly, check the TCN,
hand the submission to `MockService.submit` (validated and ledgered there) and answer 202.

A body in EBTS (declared `application/x-ansi-nist` or `application/octet-stream` in any case, or
undeclared and starting like a Type-1 record) is decoded; what was tolerated in it is listed in
the 202's `warnings`, and its refusal is an ERRT in EBTS (unless the client accepts JSON only).

Its refusals are the same `Problem`s as every other endpoint's; a fault the scenario injects is
answered as the scenario says (an HTTP error, or a connection reset mid-answer).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

import schemas

from ..state.service import FaultResponse, MockService
from ..storage.ledger import NotWritable
from ..transport.bodies import (
    answers_ebts,
    ebts_read,
    errt_refusal,
    is_ebts,
    json_and_text,
    raw_headers,
    receive_bytes,
)
from ..transport.problem import Problem, not_recorded

__all__ = ["Intake"]

_TCN = "common.json#/$defs/tcn"
_HEADERS = frozenset({b"content-type", b"accept", b"content-length"})


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


def _require_tcn(body: Any) -> None:
    """A 400 naming what is wrong with the submission's `$.type1.tcn`, unless it is valid."""
    header = body.get("type1") if isinstance(body, dict) else None
    tcn = header.get("tcn") if isinstance(header, dict) else None
    found = schemas.problems(_TCN, tcn) if tcn is not None else []
    if tcn is not None and not found:
        return
    errors = [
        {"path": "$.type1.tcn", "rule": p.rule if tcn is not None else "required",
         "message": f"1.009 TCN: {p.message}" if tcn is not None else "1.009 TCN is required"}
        for p in (found or [schemas.Problem("$", "required", "", "")])
    ]  # fmt: skip
    raise Problem(
        400,
        "Bad Request",
        "a submission needs a valid 1.009 TCN ($.type1.tcn) to be answered",
        errors,
    )


def _fault(fault: FaultResponse) -> Response:
    """The answer the scenario injects in place of a 202."""
    status = fault.status
    if status is None:
        return _ConnectionReset()
    raise Problem(
        status,
        {503: "Service Unavailable", 400: "Bad Request"}.get(status, "Internal Server Error"),
        f"injected by the scenario: {fault}",
        headers={"retry-after": "1"} if status == 503 else None,
    )


class Intake:
    """The ASGI app of `POST /cjis/submissions` over `service`."""

    def __init__(self, service: MockService) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            answer = await self._answer(scope, receive)
        except Problem as problem:
            answer = problem.response()
        except NotWritable as error:
            answer = not_recorded(error).response()
        except ClientDisconnect:
            return
        if isinstance(answer, Response):
            await answer(scope, receive, send)
            return
        length = str(len(answer)).encode()
        headers = [(b"content-length", length), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 202, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    async def _answer(self, scope: Scope, receive: Receive) -> bytes | Response:
        """The 202's body, the ERRT refusing an EBTS submission, or the response a fault injects."""
        if not self.service.ledger.writable:  # refused before the body is read
            raise NotWritable("the ledger is not writable")
        headers = raw_headers(scope, _HEADERS)
        media, accept = headers.get(b"content-type", ""), headers.get(b"accept", "")
        raw = await receive_bytes(headers.get(b"content-length"), receive)
        if not is_ebts(media, raw):
            submission, text = json_and_text(raw)
            _require_tcn(submission)
            return await self._submit(submission, text, {})
        document: Any = {}
        try:
            document, kept = ebts_read(raw)
            _require_tcn(document)
        except Problem as problem:
            if not answers_ebts(accept):
                raise
            header = document.get("type1") if isinstance(document, dict) else None
            if not isinstance(header, dict):  # unreadable: what its Type-1 said, if anything
                header = getattr(problem, "header", {})
            return errt_refusal(problem, header, self.service.clock.now())
        return await self._submit(document, None, kept)

    async def _submit(self, body: Any, text: str | None, kept: dict[str, Any]) -> bytes | Response:
        """Submit; what an EBTS file carried beside its document (`kept`) is ledgered with it and
        its warnings are listed in the ack."""
        try:
            ack = await self.service.submit(body, text=text)
        except FaultResponse as fault:
            return _fault(fault)
        if kept and ack["status"] == "accepted":
            await self.service.keep_as_received(body, kept)
        if "warnings" in kept:
            warned = {**ack, "warnings": kept["warnings"]}
            return json.dumps(warned, separators=(",", ":")).encode()
        # The TCN and the time hold only JSON-safe characters (their schemas' patterns).
        tcn, status, when = ack["tcn"], ack["status"], ack["virtual_time"]
        return f'{{"tcn":"{tcn}","status":"{status}","virtual_time":"{when}"}}'.encode()
