"""A submission's plan as timed steps, and the templates of the messages they carry.

A plan is a list of `Step`s, each a delay after receipt and a message template; the service stores
each as a timer in the ledger and stamps the message with its virtual time when it fires. Every
template of one submission comes from its `Builder`, which names it with a response TCN.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import schemas
from protocol.ebts import CJIS_ORI

__all__ = ["Builder", "Plan", "Step", "ident_response"]


class Step(NamedTuple):
    """One planned event: after `delay` seconds, `deliver` a message to the SIB or `record` an
    exchange between the federal systems on `channel`."""

    delay: float
    action: str
    channel: str
    message: dict[str, Any] | None
    raw: str | None = None
    copies: int = 1


class Plan(NamedTuple):
    """What a submission starts, and facts worth keeping about it."""

    steps: list[Step]
    facts: dict[str, Any]


def _tcn(submission_tcn: str, tot: str, n: int, dat: Any = None) -> str:
    """A response's TCN: the same for the same submission and step (planning again sends nothing
    twice), led by the submission's date so that the ledger's indexes on TCNs grow at one end (a
    year of random keys spread their writes over the whole index)."""
    digest = hashlib.blake2b(f"{submission_tcn}\x1f{n}".encode(), digest_size=10).hexdigest()
    day = f"{dat}-" if isinstance(dat, str) and len(dat) == 8 and dat.isdigit() else ""
    return f"{tot}-{day}{digest.upper()}"


def _sender(submission: dict[str, Any]) -> str:
    """The submitting ORI, or the first CRI, when valid; else a placeholder that names no one."""
    header = submission.get("type1", {})
    type2 = submission.get("type2", {})
    candidates = [header.get("ori")]
    if isinstance(type2, dict) and isinstance(type2.get("cri"), list) and type2["cri"]:
        candidates.append(type2["cri"][0])
    for candidate in candidates:
        if isinstance(candidate, str) and not schemas.problems("common.json#/$defs/ori", candidate):
            return candidate
    return "UNKNOWN00"


class Builder:
    """Response templates for one submission (type1 without `dat` and `gmt`, stamped later)."""

    def __init__(self, submission: dict[str, Any]) -> None:
        self.submission = submission
        self.tcn: str = submission["type1"]["tcn"]
        self.ori = _sender(submission)
        self._n = 0

    def type1(self, tot: str, *, ori: str = CJIS_ORI, dai: str | None = None) -> dict[str, Any]:
        self._n += 1
        return {
            "tot": tot,
            "dai": dai or self.ori,
            "ori": ori,
            "tcn": _tcn(self.tcn, tot, self._n, self.submission["type1"].get("dat")),
            "tcr": self.tcn,
        }

    def message(self, tot: str, type2: dict[str, Any], **where: str) -> dict[str, Any]:
        return {"type1": self.type1(tot, **where), "type2": type2}


def ident_response(encounters: list[dict[str, Any]], iar: dict[str, Any] | None) -> dict[str, Any]:
    """The IDENT part of an IDR: a match with its encounters (and any joined IAR), or no-match."""
    response: dict[str, Any] = {
        "result": "match" if encounters else "no-match",
        "encounters": encounters,
    }
    if iar is not None:
        response["iar"] = iar
    return response
