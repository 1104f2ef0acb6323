"""What a submission must be and what it starts: CAR or CPI, IDENT search or not, which SREs.

SOP 2.1.1 and MOA IV.A (a CAR per booking), SOP 2.1.2 (NFF states: a CPI for a subject arrested
in the state before), the briefing's criteria for searching IDENT (CAR with a date of arrest within
seven days; CPI from a participating NFF state), and SOP 2.1.4 (the NFF states' additional SRE).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, NamedTuple

from .ebts import parse_ebts_date

__all__ = [
    "IDENT_WINDOW",
    "Decision",
    "expected_tot",
    "ident_search",
    "kind_of",
    "sre_count",
]

IDENT_WINDOW = timedelta(days=7)


class Decision(NamedTuple):
    """A yes or no, with the rule that decided it."""

    yes: bool
    reason: str


def expected_tot(booking: dict[str, Any], *, nff: bool) -> str:
    """CAR, or CPI for a subject arrested in this NFF state before (SOP 2.1.2; MOA IV.A)."""
    return "CPI" if nff and booking["prior_arrest_in_state"] else "CAR"


def ident_search(
    submission: dict[str, Any], *, received: date, activated_oris: frozenset[str] | set[str]
) -> Decision:
    """Whether CJIS searches IDENT for this submission (briefing: criteria for searching IDENT).

    A CAR is searched when its ORI is activated and its date of arrest is no more than seven days
    before receipt; a CPI (only NFF states send one) when its ORI is activated.
    """
    tot = submission["type1"]["tot"]
    ori = submission["type1"]["ori"]
    if tot not in {"CAR", "CPI"}:
        return Decision(False, f"TOT {tot} does not start an IDENT search")
    if ori not in activated_oris:
        return Decision(False, f"ORI {ori} is not activated for Interoperability")
    if tot == "CPI":
        return Decision(True, "CPI from a participating NFF state: prints pulled by FBI number")
    arrested = parse_ebts_date(submission["type2"]["doa"])
    age = received - arrested
    if age < timedelta(0):
        return Decision(
            False, f"date of arrest {arrested:%Y%m%d} is after receipt {received:%Y%m%d}"
        )
    if age > IDENT_WINDOW:
        return Decision(False, f"date of arrest is {age.days} days old, more than seven")
    return Decision(True, f"CAR from an activated ORI, date of arrest {age.days} days old")


def sre_count(tot: str, *, nff: bool) -> int:
    """How many SREs a submission gets (SOP 2.1.3, 2.1.4).

    A CAR gets the IAFIS SRE; an NFF state's CAR gets an additional SRE carrying the IDR or IDR/IAR;
    a CPI ordinarily gets none, but an NFF state's CPI gets the additional SRE.
    """
    if tot == "CAR":
        return 2 if nff else 1
    if tot == "CPI":
        return 1 if nff else 0
    raise ValueError(f"TOT {tot!r} is not a submission (CAR or CPI)")


def kind_of(message: Any) -> str:
    """What a delivered or routed message is: SRE, SRE+IDR, SRE+IDR/IAR, IDR, IDR/IAR, IAR, ERRT;
    or through NLETS, NLETS-IAQ and NLETS-IAR."""
    if isinstance(message, dict) and isinstance(message.get("header"), dict):
        mke = message["header"].get("mke")
        return f"NLETS-{mke}" if mke in ("IAQ", "IAR") else "other"
    if not isinstance(message, dict) or not isinstance(message.get("type1"), dict):
        return "other"
    tot = str(message["type1"].get("tot"))
    found = message.get("type2")
    type2: dict[str, Any] = found if isinstance(found, dict) else {}
    if tot == "IDR":
        return "IDR/IAR" if "iar" in type2 else "IDR"
    if tot == "SRE" and isinstance(type2.get("ident"), dict):
        return "SRE+IDR/IAR" if "iar" in type2["ident"] else "SRE+IDR"
    return tot
