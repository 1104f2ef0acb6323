"""Small helpers the checks share: scenario overrides and the kinds each profile delivers."""

from __future__ import annotations

import json
import re
from typing import Any

from conformance.finding import expect
from conformance.harness import Lea
from conformance.traffic import Sent, Traffic
from protocol.submission import kind_of

__all__ = [
    "HOUR",
    "acked",
    "canonical",
    "faulty",
    "ident_kind",
    "is_ident",
    "match",
    "names_the_lea",
    "no_match",
    "refused",
    "refused_not_forwarded",
    "slow_iar",
    "sre_reaches_each_booker",
]

HOUR = 3600.0


def match(key: str, **more: Any) -> dict[str, Any]:
    """A scenario override forcing an IDENT match for this biometric key."""
    override: dict[str, Any] = {"when": {"biometric_key": key}, "outcome": {"ident": "match"}}
    override.update(more)
    return override


def no_match(key: str, **more: Any) -> dict[str, Any]:
    """A scenario override forcing an IDENT no-match for this biometric key."""
    override: dict[str, Any] = {"when": {"biometric_key": key}, "outcome": {"ident": "no-match"}}
    override.update(more)
    return override


def faulty(key: str, *faults: dict[str, Any]) -> dict[str, Any]:
    """A scenario override injecting `faults` into this biometric key's submissions."""
    return {"when": {"biometric_key": key}, "faults": list(faults)}


def slow_iar(iar_hours: float) -> dict[str, Any]:
    """SOP timing, except that LESC answers after `iar_hours`: the IDR goes alone at 24 hours
    and the IAR follows on its own."""
    return {
        "name": "late-iar",
        "steps": {
            "sre": {"fixed": 120},
            "idr": {"fixed": 900},
            "iar": {"fixed": iar_hours * HOUR},
            "idr_alone_after": {"fixed": 24 * HOUR},
            "no_match_idr": {"fixed": 900},
            "errt": {"fixed": 5},
        },
    }


def ident_kind(nff: bool, *, iar: bool) -> str:
    """How the IDENT result arrives: an IDR (or IDR/IAR), or in an NFF state inside the
    additional SRE (SOP 2.1.4)."""
    kind = "IDR/IAR" if iar else "IDR"
    return f"SRE+{kind}" if nff else kind


def is_ident(kind: str) -> bool:
    """Whether a message of this kind carries an IDENT result or an IAR."""
    return "IDR" in kind or kind == "IAR"


def canonical(message: Any) -> str:
    """A message as comparable text (key order ignored)."""
    return json.dumps(message, sort_keys=True)


def acked(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The deliveries the SIB took (answered 2xx), JSON ones only."""
    return [
        e
        for e in entries
        if (e.get("delivery") or {}).get("state") == "delivered"
        and not (e["delivery"] or {}).get("last_error")
        and kind_of(e["message"]) != "other"
    ]


def names_the_lea(s: Sent, said: str) -> None:
    """The submission carries the booking LEA's ORI in its header and as its CRI, not another's."""
    header, type2 = s.message["type1"], s.message["type2"]
    expect(
        header.get("ori") == s.ori and type2.get("cri", [None])[0] == s.ori,
        f"{said} names ORI {header.get('ori')} and CRI {type2.get('cri')}, not the LEA's",
        evidence=[s.entry["id"]],
    )


def refused_not_forwarded(
    traffic: Traffic, lea: Lea, booking: dict[str, Any], field: str, said: str
) -> None:
    """The SIB refuses `booking` with a 4xx whose body names `field`, and sends CJIS nothing."""
    response = lea.book(booking)
    expect(
        400 <= response.status_code < 500,
        f"{said} was answered HTTP {response.status_code}, not refused with a 4xx",
    )
    expect(field in response.text, f"the SIB refused {said} without naming the field {field!r}")
    traffic.watch.quiet("forward")
    sent = traffic.submissions_for(booking)
    expect(
        not sent,
        f"the SIB refused {said} and yet sent CJIS {len(sent)} submission(s) for it",
        evidence=[e["id"] for e in sent],
    )


def sre_reaches_each_booker(traffic: Traffic, sent: list[Sent], why: str) -> None:
    """The plain IAFIS SRE answering each submission arrives at the LEA that booked it (`why`:
    whose LEAs these are, in the failure's words)."""
    traffic.run(300)
    for s in sent:
        got = traffic.await_routed(s.ori, ["SRE"], s)
        expect(
            "SRE" in got,
            f"LEA {s.ori} never received the IAFIS SRE answering its booking {s.tcn} ({why}); "
            f"it received {got}",
            evidence=[e["id"] for e in traffic.deliveries(s)],
        )


_REFUSAL = re.compile(r"(HTTP 4\d\d|SMTP 5\d\d)\b")
"""How the courier records a SIB refusing a delivery for good: an HTTP 4xx (408, 425 and 429 are
retried, never settled), or on the e-mail wire a permanent (5xx) SMTP reply."""


def refused(delivery: dict[str, Any] | None) -> bool:
    """Whether the SIB refused this delivery for good (its ledgered delivery state), whatever the
    wire: settled with an HTTP 4xx, or by e-mail with a 5xx reply."""
    state = delivery or {}
    error = str(state.get("last_error") or "")
    return state.get("state") == "delivered" and _REFUSAL.match(error) is not None
