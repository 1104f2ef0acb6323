"""What a check's end means: its outcome, the reason in domain words, the evidence that shows it.

* `failed`: the SIB broke the rule. A `Finding` (its message and evidence), a plain `assert` (its
  message, without pytest's introspection), or the SIB not answering: a SIB that stops answering
  mid-run (connection refused or reset, a timeout) fails the check that was talking to it, so a SIB
  that crashes after a bad delivery is a failed ROB-3, never an error.
* `error`: the harness could not carry the check out: the mock endpoints did not answer or refused
  the harness, a fixture could not be set up, or a fault in the harness itself.
* `not-applicable`: the rule is not for this profile (also a check that skips itself).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx
import requests

from .finding import Finding

__all__ = ["Outcome", "classify", "reason_of_assert"]

_OBJECT_AT = re.compile(r"<(?:[\w.]|<locals>)*?(\w+) object at 0x[0-9a-fA-F]+>")
_LIMIT = 600


class Outcome(NamedTuple):
    """A check's outcome, its reason (one sentence) and the ids of the evidence showing it."""

    outcome: str
    reason: str
    evidence: tuple[str, ...] = ()


def _clean(text: str) -> str:
    text = _OBJECT_AT.sub(r"a \1", " ".join(text.split()))
    return text if len(text) <= _LIMIT else text[: _LIMIT - 1] + "…"


def reason_of_assert(exc: AssertionError) -> str:
    """A plain assert's message without pytest's introspection (or, without a message, the
    condition that did not hold)."""
    text = str(exc).strip()
    if not text:
        return "the check's expectation did not hold"
    if text.startswith("assert "):
        return _clean("the check's expectation did not hold: " + text.splitlines()[0][7:])
    return _clean(text.split("\nassert ")[0])


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _target(exc: BaseException) -> str | None:
    """The URL a network error was about, if it says."""
    request = None
    if isinstance(exc, httpx.RequestError | httpx.HTTPStatusError):
        try:
            request = exc.request
        except RuntimeError:
            return None
        return f"{request.method} {request.url}"
    if isinstance(exc, requests.RequestException) and exc.request is not None:
        return f"{exc.request.method} {exc.request.url!s}"
    return None


def _same_service(target: str, base_url: str | None) -> bool:
    if not base_url:
        return False
    url = urlsplit(target.split(" ", 1)[-1])
    base = urlsplit(base_url)
    return (url.hostname, url.port) == (base.hostname, base.port)


def _network(exc: BaseException, sut_url: str | None) -> Outcome | None:
    for link in _chain(exc):
        target = _target(link)
        if target is None:
            continue
        what = (
            f"HTTP {link.response.status_code}"
            if isinstance(link, httpx.HTTPStatusError)
            else (str(link).splitlines()[0] if str(link) else type(link).__name__)
        )
        if _same_service(target, sut_url):
            return Outcome("failed", _clean(f"the SIB stopped answering ({target}: {what})"))
        return Outcome(
            "error", _clean(f"the mock endpoints did not answer the harness ({target}: {what})")
        )
    return None


def classify(exc: BaseException, *, when: str, sut_url: str | None) -> Outcome:
    """The outcome of a check that raised `exc` in its `when` phase (setup or call)."""
    if isinstance(exc, Finding):
        return Outcome("failed", _clean(exc.message), exc.evidence)
    network = _network(exc, sut_url)
    if network is not None:
        return network
    if isinstance(exc, AssertionError) and when == "call":
        return Outcome("failed", reason_of_assert(exc))
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    stage = "set up" if when == "setup" else "carry out"
    return Outcome(
        "error",
        _clean(f"the harness could not {stage} the check: {type(exc).__name__}: {first}"),
    )
