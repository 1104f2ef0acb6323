"""What requests carry, as the mocks take it: a body of at most `SUBMISSION_LIMIT` bytes, its JSON
parsed strictly or its EBTS transaction decoded; the ORI of a path; the paging of reads. Each
refusal is a `Problem` naming its rule."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive

import schemas
from wire import MEDIA_TYPE
from wire.ansi_nist import WireError
from wire.codec import decode

from .openapi import SUBMISSION_LIMIT
from .problem import Problem
from .strictjson import JsonRuleError, loads

__all__ = [
    "PAGE_BYTES",
    "PAGE_LIMIT",
    "body",
    "body_and_text",
    "ebts_document",
    "json_and_text",
    "json_body",
    "message",
    "ori_of",
    "paging",
    "parsed",
    "receive_bytes",
    "request_bytes",
]

PAGE_LIMIT = 1000
PAGE_BYTES = 8 << 20
"""About the most message bytes one page of `/admin/ledger` or an inbox carries."""


def _too_large() -> Problem:
    return Problem(
        413,
        "Content Too Large",
        f"the body is over {SUBMISSION_LIMIT} bytes (rule: limit)",
        headers={"connection": "close"},  # the rest is not read
    )


def _declared(length: str | None) -> None:
    """Refuse a Content-Length that is not a number (400) or over the limit (413)."""
    if length is None:
        return
    if not length.isdigit():
        raise Problem(400, "Bad Request", f"Content-Length {length!r} is not a number")
    if int(length) > SUBMISSION_LIMIT:
        raise _too_large()


async def receive_bytes(length: str | None, receive: Receive) -> bytes:
    """The body of a raw ASGI request whose Content-Length header is `length` (or None)."""
    _declared(length)
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk: bytes = event.get("body", b"")
        size += len(chunk)
        if size > SUBMISSION_LIMIT:
            raise _too_large()
        if not event.get("more_body", False):
            if not chunks:
                return chunk
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


async def request_bytes(request: Request) -> bytes:
    """The body of a request, read as it streams in and refused (413) once over the limit."""
    _declared(request.headers.get("content-length"))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > SUBMISSION_LIMIT:
            raise _too_large()
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


def ebts_document(raw: bytes) -> Any:
    """An encoded transaction's JSON document; problems name the record and field (400)."""
    try:
        return decode(raw)[1]
    except WireError as error:
        errors = [{"path": p.field, "rule": p.code, "message": p.text} for p in error.problems]
        title = "the body is not a readable EBTS transaction"
        raise Problem(400, "Bad Request", title, errors) from None


async def json_body(request: Request) -> Any:
    """The JSON document of a request, parsed strictly."""
    return json_and_text(await request_bytes(request))[0]


async def body(request: Request) -> Any:
    """The JSON document of a request: JSON, or (the EBTS wire) an encoded transaction decoded."""
    return (await body_and_text(request))[0]


async def body_and_text(request: Request) -> tuple[Any, str | None]:
    """`body`, and the JSON text as received (None for an encoded transaction: the ledger
    writes its decoded document)."""
    return parsed(await request_bytes(request), request.headers.get("content-type", ""))


def parsed(raw: bytes, media: str) -> tuple[Any, str | None]:
    """`body_and_text` of a body already read, sent as `media`."""
    if media.startswith(MEDIA_TYPE):
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
        return json.loads(text)
    except ValueError:
        return text


def ori_of(request: Request) -> str:
    """The `{ori}` of the path, or a 400 when it is not an ORI."""
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
