"""The mocks' HTTP errors: problems (RFC 9457, `application/problem+json`) naming field and rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

import schemas

__all__ = [
    "EXCERPT",
    "RETRY_AFTER",
    "Problem",
    "check",
    "excerpt",
    "not_recorded",
    "unauthorized",
    "violations",
]

EXCERPT = 200
"""The most characters of a problem's message (`detail`: twice that) sent back: what the input was
is named, never echoed whole (a 1 MB bad input is not answered with a 1 MB problem)."""
_ERRORS_KEPT = 20
_SECRET = ("sut_callback",)
"""Fields whose values are never echoed (a callback URL may carry a token)."""

RETRY_AFTER = 2
"""Seconds a client is asked to wait (`Retry-After`) while the ledger cannot record."""


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
        """The problem as an `application/problem+json` response (messages cut to excerpts)."""
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": excerpt(self.detail, 2 * EXCERPT),
        }
        if self.errors:
            body["errors"] = [
                {key: excerpt(str(value)) for key, value in error.items()}
                for error in self.errors[:_ERRORS_KEPT]
            ]
        return JSONResponse(
            body, self.status, headers=self.headers, media_type="application/problem+json"
        )


def unauthorized() -> Problem:
    """The 401 answering a request that needs the admin token and does not carry it."""
    return Problem(
        401,
        "Unauthorized",
        "the admin API needs 'Authorization: Bearer <token>' (rule: admin token)",
    )


def not_recorded(error: Exception) -> Problem:
    """The 503 answering a request while the ledger cannot record it (a full disk)."""
    return Problem(
        503,
        "Service Unavailable",
        f"nothing is taken while the ledger cannot record it ({error}); send it again later "
        "(rule: nothing lost)",
        headers={"retry-after": str(RETRY_AFTER)},
    )


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """`text`, cut to `limit` characters with how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def _said(problem: schemas.Problem) -> str:
    if problem.path.rsplit(".", 1)[-1] in _SECRET:
        return f"not a valid value (rule: {problem.rule}; the value is not repeated)"
    return problem.message


def violations(found: list[schemas.Problem]) -> list[dict[str, str]]:
    """Schema problems as a problem's `errors` (path, rule, message)."""
    return [{"path": p.path, "rule": p.rule, "message": _said(p)} for p in found]


def check(ref: str, document: Any, what: str) -> None:
    """Raise a 400 `Problem` naming each path and rule when `document` is not a valid `ref`."""
    found = schemas.problems(ref, document)
    if found:
        listed = "; ".join(f"{p.path}: {_said(p)} (rule: {p.rule})" for p in found[:5])
        raise Problem(400, "Bad Request", f"not a valid {what}: {listed}", violations(found))
