"""The mocks' OpenAPI 3.1 document, generated from the JSON Schemas (never restating them).

Every schema file becomes a component under its name, its references rewritten to point inside
the document, so tools that do not fetch remote references (schemathesis among them) can use it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import schemas

__all__ = ["SUBMISSION_LIMIT", "openapi"]

SUBMISSION_LIMIT = 1 << 20
"""Largest request body accepted, in bytes; larger bodies get 413."""

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


def _paths() -> dict[str, Any]:
    return {
        "/cjis/submissions": {
            "post": {
                "summary": "FBI CJIS: take a CAR or CPI from a SIB",
                "description": (
                    "Acknowledged with 202 once ledgered. EBTS-level problems come back "
                    "asynchronously as an ERRT delivered to the SIB's callback; a body without "
                    "a usable $.type1.tcn, or that is not JSON, gets 400."
                ),
                "requestBody": {"required": True, **_json(_schema("submission"), "CAR or CPI")},
                "responses": {
                    "202": _json(_schema("api", "/$defs/ack"), "Accepted, or a duplicate TCN"),
                    **_BAD,
                },
            }
        },
        "/ident/searches": {
            "post": {
                "summary": "DHS IDENT: search a CAR's prints directly",
                "requestBody": {"required": True, **_json(_schema("car"), "A CAR")},
                "responses": {
                    "200": _json(_schema("idr", "/$defs/response"), "The IDENT result"),
                    **_BAD,
                },
            }
        },
        "/lesc/iaq": {
            "post": {
                "summary": "ICE LESC: answer an Immigration Alien Query directly",
                "requestBody": {"required": True, **_json(_schema("iaq"), "An IAQ")},
                "responses": {
                    "200": _json(_schema("iar", "/$defs/determination"), "The determination"),
                    **_BAD,
                },
            }
        },
        "/dro/inbox": {
            "get": {
                "summary": "ICE DRO field office: IAR copies and detainers received",
                "responses": {"200": _json(_schema("api", "/$defs/inbox"), "The inbox")},
            }
        },
        "/lea/{ori}/inbox": {
            "parameters": [_ORI],
            "post": {
                "summary": "A local LEA: take a response the SIB routed here",
                "requestBody": {"required": True, **_json({}, "The routed message, as relayed")},
                "responses": {
                    "202": _json(_schema("api", "/$defs/received"), "Recorded"),
                    **_BAD,
                },
            },
            "get": {
                "summary": "A local LEA: what the SIB routed here",
                "responses": {
                    "200": _json(_schema("api", "/$defs/inbox"), "The inbox"),
                    "400": _BAD["400"],
                },
            },
        },
        "/admin/clock": {
            "get": {
                "summary": "The virtual clock",
                "responses": {"200": _json(_schema("api", "/$defs/clock"), "The clock"), **_ADMIN},
            }
        },
        "/admin/clock/advance": {
            "post": {
                "summary": "Advance a manual clock, firing what falls due in order",
                "requestBody": {
                    "required": True,
                    **_json(_schema("api", "/$defs/advance"), "How far"),
                },
                "responses": {
                    "200": _json(_schema("api", "/$defs/advanced"), "Advanced"),
                    **_BAD,
                    **_ADMIN,
                    "409": _problem("The clock is not manual."),
                },
            }
        },
        "/admin/scenario": {
            "get": {
                "summary": "The scenario in force",
                "responses": {"200": _json(_schema("scenario"), "The scenario"), **_ADMIN},
            },
            "post": {
                "summary": "Replace the scenario",
                "requestBody": {"required": True, **_json(_schema("scenario"), "A scenario")},
                "responses": {
                    "200": _json(_schema("scenario"), "The scenario now in force"),
                    **_BAD,
                    **_ADMIN,
                },
            },
        },
        "/admin/reset": {
            "post": {
                "summary": "Forget every message, timer and delivery",
                "responses": {"204": {"description": "Reset"}, **_ADMIN},
            }
        },
        "/admin/ledger": {
            "get": {
                "summary": "Ledger entries by TCN (a submission and its responses), ORI or channel",
                "parameters": [
                    {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                    for n in ("tcn", "ori", "channel")
                ],
                "responses": {
                    "200": _json(_schema("api", "/$defs/entries"), "Entries"),
                    **_ADMIN,
                },
            }
        },
        "/health": {
            "get": {
                "summary": "Liveness, clock and what is pending",
                "responses": {"200": _json(_schema("api", "/$defs/health"), "Healthy")},
            }
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
