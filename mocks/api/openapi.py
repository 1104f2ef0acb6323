"""The mocks' OpenAPI 3.1 document, generated from the JSON Schemas (never restating them).

Every schema file becomes a component under its name, its references rewritten to point inside
the document, so tools that do not fetch remote references (schemathesis among them) can use it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import schemas
from wire import MEDIA_TYPES

from ..transport.bodies import SUBMISSION_LIMIT

__all__ = ["openapi"]


_COMPONENTS = "#/components/schemas/"


def _schema(name: str, pointer: str = "") -> dict[str, str]:
    return {"$ref": f"{_COMPONENTS}{name}{pointer}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _schema("api", "/$defs/problem")}},
    }


_BAD = {
    "400": _problem("The body is not JSON, or a field breaks its rule; `errors` names each."),
    "413": _problem(f"The body is larger than {SUBMISSION_LIMIT} bytes."),
}
_ADMIN = {"401": _problem("An admin token is required and was not given.")}
_ORI = {
    "name": "ori",
    "in": "path",
    "required": True,
    "description": "The LEA's ORI (EBTS 1.008 ORI).",
    "schema": _schema("common", "/$defs/ori"),
}


def _reading(
    summary: str,
    answer: dict[str, Any],
    refusals: dict[str, Any] | None = None,
    *,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An operation that answers 200 with ``answer`` and takes no body."""
    operation: dict[str, Any] = {"summary": summary}
    if parameters is not None:
        operation["parameters"] = parameters
    operation["responses"] = {"200": answer, **(refusals or {})}
    return operation


def _taking(
    summary: str,
    body: dict[str, Any],
    answer: tuple[str, dict[str, Any]],
    refusals: dict[str, Any] = _BAD,
    *,
    description: str | None = None,
) -> dict[str, Any]:
    """An operation that takes a required JSON ``body``; ``answer`` is (status, response)."""
    operation: dict[str, Any] = {"summary": summary}
    if description is not None:
        operation["description"] = description
    operation["requestBody"] = {"required": True, **body}
    status, response = answer
    operation["responses"] = {status: response, **refusals}
    return operation


_EBTS_FILE = {"schema": {"type": "string", "contentMediaType": MEDIA_TYPES[0]}}
"""An EBTS transaction (ANSI/NIST-ITL traditional encoding) as a body."""


def _cjis_paths() -> dict[str, Any]:
    """FBI CJIS: where a SIB submits its CARs and CPIs."""
    body = _json(_schema("submission"), "CAR or CPI, as JSON or as an EBTS transaction")
    body["content"] |= dict.fromkeys(MEDIA_TYPES, _EBTS_FILE)
    refused = _problem(
        "The body is neither JSON nor a readable EBTS transaction, or has no valid 1.009 TCN "
        "($.type1.tcn); `errors` names each record, field and rule. An EBTS submission is "
        "answered with an ERRT in EBTS instead, unless its Accept asks for JSON only."
    )
    refused["content"][MEDIA_TYPES[0]] = _EBTS_FILE
    return {
        "/cjis/submissions": {
            "post": _taking(
                "FBI CJIS: take a CAR or CPI from a SIB",
                body,
                ("202", _json(_schema("api", "/$defs/ack"), "Accepted, or a duplicate TCN")),
                {**_BAD, "400": refused},
                description=(
                    "Acknowledged with 202 once ledgered. The body is JSON, or an EBTS "
                    f"transaction ({', '.join(MEDIA_TYPES)}, in any case; or undeclared and "
                    "starting with a Type-1 record). EBTS-level problems of a readable "
                    "submission come back asynchronously as an ERRT delivered to the SIB's "
                    "callback; what was tolerated in an EBTS file is listed in the ack's "
                    "`warnings`."
                ),
            )
        },
    }


def _ident_and_lesc_paths() -> dict[str, Any]:
    """DHS IDENT and ICE LESC, asked directly (not through CJIS)."""
    return {
        "/ident/searches": {
            "post": _taking(
                "DHS IDENT: search a CAR's prints directly",
                _json(_schema("car"), "A CAR"),
                ("200", _json(_schema("idr", "/$defs/response"), "The IDENT result")),
            )
        },
        "/lesc/iaq": {
            "post": _taking(
                "ICE LESC: answer an Immigration Alien Query directly",
                _json(_schema("iaq"), "An IAQ"),
                ("200", _json(_schema("iar", "/$defs/determination"), "The determination")),
            )
        },
        "/nlets/messages": {
            "post": _taking(
                "NLETS to ICE LESC: a name-based IAQ, its IAR later to the switch's NLETS port",
                _json(_schema("nlets-iaq"), "A name-based IAQ (SOP 2.2.7)"),
                ("202", _json(_schema("api", "/$defs/nlets_ack"), "Taken for LESC")),
                {**_BAD, "503": _problem("NLETS is down (scenario fault nlets-unavailable).")},
            )
        },
    }


def _inbox_paths() -> dict[str, Any]:
    """The ICE DRO field office's inbox and the local LEAs' inboxes."""
    inbox = _json(_schema("api", "/$defs/inbox"), "The inbox")
    return {
        "/dro/inbox": {
            "get": _reading("ICE DRO field office: IAR copies and detainers received", inbox)
        },
        "/lea/{ori}/inbox": {
            "parameters": [_ORI],
            "post": _taking(
                "A local LEA: take a response the SIB routed here",
                _json({}, "The routed message, as relayed"),
                ("202", _json(_schema("api", "/$defs/received"), "Recorded")),
            ),
            "get": _reading("A local LEA: what the SIB routed here", inbox, {"400": _BAD["400"]}),
        },
    }


def _clock_paths() -> dict[str, Any]:
    """The virtual clock, read and advanced by an admin."""
    return {
        "/admin/clock": {
            "get": _reading(
                "The virtual clock", _json(_schema("api", "/$defs/clock"), "The clock"), _ADMIN
            )
        },
        "/admin/clock/advance": {
            "post": _taking(
                "Advance a manual clock, firing what falls due in order",
                _json(_schema("api", "/$defs/advance"), "How far"),
                ("200", _json(_schema("api", "/$defs/advanced"), "Advanced")),
                {**_BAD, **_ADMIN, "409": _problem("The clock is not manual.")},
            )
        },
    }


def _admin_paths() -> dict[str, Any]:
    """The admin endpoints: the clock, the scenario, a reset and the ledger."""
    scenario = _schema("scenario")
    return {
        **_clock_paths(),
        "/admin/scenario": {
            "get": _reading("The scenario in force", _json(scenario, "The scenario"), _ADMIN),
            "post": _taking(
                "Replace the scenario",
                _json(scenario, "A scenario"),
                ("200", _json(scenario, "The scenario now in force")),
                {**_BAD, **_ADMIN},
            ),
        },
        "/admin/reset": {
            "post": {
                "summary": "Forget every message, timer and delivery",
                "responses": {"204": {"description": "Reset"}, **_ADMIN},
            }
        },
        "/admin/ledger": {
            "get": _reading(
                "Ledger entries by TCN (a submission and its responses), ORI, channel or TOT",
                _json(_schema("api", "/$defs/entries"), "Entries"),
                _ADMIN,
                parameters=[
                    {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                    for n in ("tcn", "ori", "channel", "tot")
                ],
            )
        },
    }


def _paths() -> dict[str, Any]:
    return {
        **_cjis_paths(),
        **_ident_and_lesc_paths(),
        **_inbox_paths(),
        **_admin_paths(),
        "/health": {
            "get": _reading(
                "Liveness, clock and what is pending",
                _json(_schema("api", "/$defs/health"), "Healthy"),
            )
        },
    }


@cache
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the mock endpoints."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "IDENT/IAFIS Interoperability mock federal endpoints",
            "version": "0.1.0",
            "description": (
                "Mock FBI CJIS (IAFIS), DHS IDENT, ICE LESC and DRO, and the LEA inboxes a SIB "
                "routes to. Responses (SRE, IDR, IDR/IAR, IAR, ERRT) are POSTed to the SIB's "
                "callback with X-Interop-Virtual-Time and X-Interop-Message-Id headers."
            ),
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": _paths(),
        "components": {"schemas": schemas.components()},
    }
