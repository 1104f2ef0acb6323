"""What requests carry, as the mocks take it: a body of at most `SUBMISSION_LIMIT` bytes, its JSON
parsed strictly or its EBTS transaction decoded (content negotiation: `is_ebts`, `answers_ebts`,
an EBTS submission refused with an ERRT in EBTS: `errt_refusal`); the ORI of a path; the paging of
reads. Each refusal is a `Problem` naming its rule."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope

import schemas
from protocol.ebts import CJIS_ORI, ebts_date, gmt
from wire import MEDIA_TYPE, MEDIA_TYPES, is_encoded
from wire.ansi_nist import WireError
from wire.codec import Decoded, encode, read

from .._utils import read_json
from .problem import Problem
from .strictjson import JsonRuleError, loads

__all__ = [
    "DOCUMENT_LIMIT",
    "PAGE_BYTES",
    "PAGE_LIMIT",
    "SUBMISSION_LIMIT",
    "answers_ebts",
    "body",
    "body_and_text",
    "ebts_document",
    "ebts_read",
    "errt_refusal",
    "evidence",
    "is_ebts",
    "json_and_text",
    "json_body",
    "message",
    "ori_checked",
    "ori_of",
    "paging",
    "parsed",
    "raw_headers",
    "receive_bytes",
    "request_bytes",
]

PAGE_LIMIT = 1000
PAGE_BYTES = 8 << 20
"""About the most message bytes one page of `/admin/ledger` or an inbox carries."""


SUBMISSION_LIMIT = int(os.environ.get("INTEROP_BODY_LIMIT", 16 << 20))
"""Largest body accepted, in bytes, over HTTP (larger bodies get 413) and SMTP (552): 16 MiB
unless INTEROP_BODY_LIMIT says otherwise (a CAR with palm prints is over 1 MiB)."""

DOCUMENT_LIMIT = min(SUBMISSION_LIMIT, 1 << 20)
"""The largest JSON document that is not a submission or a delivery (a scenario, a clock advance,
an IDENT search, an IAQ): no fingerprints, so 1 MiB is ample, and parsing stays short."""


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        "Content Too Large",
        f"the body is over {limit} bytes (rule: limit)",
        headers={"connection": "close"},  # the rest is not read
    )


def _declared(length: str | None, limit: int) -> None:
    """Refuse a Content-Length that is not a number (400) or over `limit` (413)."""
    if length is None:
        return
    if not length.isdigit():
        raise Problem(400, "Bad Request", f"Content-Length {length!r} is not a number")
    if int(length) > limit:
        raise _too_large(limit)


def raw_headers(scope: Scope, wanted: frozenset[bytes]) -> dict[bytes, str]:
    """The headers named in `wanted` (lower case) of a raw ASGI request, as latin-1 text."""
    return {name: value.decode("latin-1") for name, value in scope["headers"] if name in wanted}


async def receive_bytes(length: str | None, receive: Receive) -> bytes:
    """The body of a raw ASGI request whose Content-Length header is `length` (or None)."""
    _declared(length, SUBMISSION_LIMIT)
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk: bytes = event.get("body", b"")
        size += len(chunk)
        if size > SUBMISSION_LIMIT:
            raise _too_large(SUBMISSION_LIMIT)
        if not event.get("more_body", False):
            if not chunks:
                return chunk
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


async def request_bytes(request: Request, limit: int = SUBMISSION_LIMIT) -> bytes:
    """The body of a request, read as it streams in and refused (413) once over `limit`."""
    _declared(request.headers.get("content-length"), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def json_and_text(raw: bytes) -> tuple[Any, str]:
    """The body parsed strictly, and its text as received (for the ledger)."""
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


def is_ebts(media: str, raw: bytes) -> bool:
    """Whether a body is an EBTS transaction: declared so (`wire.MEDIA_TYPES`, in any case, its
    parameters ignored), or not declared JSON and starting like a Type-1 record."""
    declared = media.split(";", 1)[0].strip().lower()
    if declared in MEDIA_TYPES:
        return True
    return "json" not in declared and is_encoded(raw)


def answers_ebts(accept: str) -> bool:
    """Whether a client that sent EBTS takes EBTS back: unless its Accept asks for JSON only."""
    said = accept.lower()
    return MEDIA_TYPE in said or "json" not in said


def ebts_read(raw: bytes) -> tuple[Any, dict[str, Any]]:
    """An encoded transaction's JSON document and the evidence the ledger keeps beside it
    (`evidence`); problems name the record and field (400)."""
    try:
        decoded = read(raw)
    except WireError as error:
        errors = [{"path": p.field, "rule": p.code, "message": p.text} for p in error.problems]
        title = "the body is not a readable EBTS transaction"
        refused = Problem(400, "Bad Request", title, errors)
        refused.header = {"tcn": error.tcn, "ori": error.ori}  # type: ignore[attr-defined]
        raise refused from None
    return decoded.document, evidence(decoded)


def evidence(decoded: Decoded) -> dict[str, Any]:
    """What a file carried beside its JSON document: the warnings about what was tolerated in
    it (code, field, text) and the fields it does not model, as received; {} when nothing."""
    found: dict[str, Any] = {}
    if decoded.warnings:
        found["warnings"] = [w.errt() for w in decoded.warnings]
    if decoded.unmodelled:
        found["unmodelled"] = decoded.unmodelled
    return found


def ebts_document(raw: bytes) -> Any:
    """An encoded transaction's JSON document; problems name the record and field (400)."""
    return ebts_read(raw)[0]


_ERRT_CODES = frozenset(
    schemas.schema("errt")["properties"]["type2"]["properties"]["msg"]["items"]["properties"][
        "code"
    ]["enum"]
)


def errt_refusal(problem: Problem, header: Mapping[str, Any], now: datetime.datetime) -> Response:
    """`problem` (refusing an EBTS submission whose Type-1 said `header`) as the EBTS answer: an
    ERRT, its 2.060 MSG naming each record and field, addressed to the submitting ORI. Its TCR
    echoes the TCN received, even one that breaks EBTS (it is left out when there was none)."""
    tcn = header.get("tcn")
    tcn = tcn if isinstance(tcn, str) else ""
    ori = header.get("ori")
    found = isinstance(ori, str) and not schemas.problems("common.json#/$defs/ori", ori)
    digest = hashlib.blake2b(f"{tcn}/{now.isoformat()}".encode(), digest_size=8).hexdigest()
    entries = [
        {
            "code": e.get("rule") if e.get("rule") in _ERRT_CODES else "H0002",
            "field": e.get("path", "$") if e.get("path", "").startswith("$") else "$",
            "text": (e.get("message") or problem.detail)[:500],
        }
        for e in problem.errors or [{"path": "$", "message": problem.detail}]
    ]
    errt = {
        "type1": {
            "tot": "ERRT",
            "dat": ebts_date(now),
            "dai": ori if found else "UNKNOWN00",
            "ori": CJIS_ORI,
            "tcn": f"ERRT-{ebts_date(now)}-{digest.upper()}",
            "tcr": tcn,
            "gmt": gmt(now),
        },
        "type2": {"msg": entries[:50], "permanent": True},
    }
    try:
        data = encode(errt)
    except ValueError:  # a TCN holding separators cannot be echoed
        errt["type1"]["tcr"] = ""
        data = encode(errt)
    return Response(data, problem.status, headers=problem.headers, media_type=MEDIA_TYPE)


async def json_body(request: Request) -> Any:
    """The JSON document of a request, parsed strictly (at most `DOCUMENT_LIMIT` bytes)."""
    return json_and_text(await request_bytes(request, DOCUMENT_LIMIT))[0]


async def body(request: Request) -> Any:
    """The JSON document of a request: JSON, or (the EBTS wire) an encoded transaction decoded."""
    return (await body_and_text(request))[0]


async def body_and_text(request: Request) -> tuple[Any, str | None]:
    """`body`, and the JSON text as received (None for an encoded transaction: the ledger
    writes its decoded document)."""
    return parsed(await request_bytes(request), request.headers.get("content-type", ""))


def parsed(raw: bytes, media: str) -> tuple[Any, str | None]:
    """`body_and_text` of a body already read, sent as `media`."""
    if is_ebts(media, raw):
        return ebts_document(raw), None
    return json_and_text(raw)


def paging(request: Request) -> tuple[int, int]:
    """`after` (a cursor from `next`) and `limit` (1..1000) from the query, or a 400."""
    query = request.query_params
    values = {"after": 0, "limit": PAGE_LIMIT}
    for name, low, high in (("after", 0, 2**62), ("limit", 1, PAGE_LIMIT)):
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


def message(text: str) -> Any:
    """A ledgered body as JSON, or as the text it is when it is not JSON (a malformed delivery)."""
    try:
        return read_json(text)
    except ValueError:
        return text


def ori_of(request: Request) -> str:
    """The `{ori}` of the path, or a 400 when it is not an ORI."""
    return ori_checked(str(request.path_params["ori"]))


def ori_checked(ori: str) -> str:
    """`ori` (the `{ori}` of a path), or a 400 when it is not an ORI."""
    found = schemas.problems("common.json#/$defs/ori", ori)
    if found:
        raise Problem(
            400,
            "Bad Request",
            f"{ori!r} is not an ORI",
            [{"path": "$.ori", "rule": p.rule, "message": p.message} for p in found],
        )
    return ori
