"""FBI CJIS with IDENT and LESC behind it: what a submission starts, planned as timed steps.

On a CAR or CPI, CJIS validates it (EBTS-level problems become an ERRT), answers with the IAFIS SRE,
forwards the prints to IDENT where the briefing's criteria say so, sends an IAQ to LESC on a match,
and returns the IDR, the combined IDR/IAR or the IDR alone at 24 hours, as the timing
profile and the scenario say (SOP 2.1.1-2.1.4, 3.1.x; MOA IV; briefing "Response times").

A plan is a list of `Step`s, each a delay after receipt and a message template; the service stores
each as a timer in the ledger and stamps the message with its virtual time when it fires.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, NamedTuple

import schemas
from protocol.ebts import CJIS_ORI
from protocol.submission import ident_search
from protocol.timing import TimingProfile
from wire.layout import tag_name

from .ident import IdentRepository
from .lesc import lesc_steps
from .scenario import Case, Scenario
from .steps import Builder, Plan, Step, ident_response

__all__ = [
    "earliest",
    "errt_code",
    "errt_entries",
    "fbi_for_key",
    "plan_submission",
]

_RANGE_RULES = frozenset(
    {
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
    }
)
_CONSISTENCY_RULES = frozenset({"dependentRequired", "not", "oneOf", "anyOf", "if"})


def errt_code(problem: schemas.Problem) -> str:
    """The EBTS error code for a schema problem: H000x in the Type-1 header, E000x elsewhere."""
    header = problem.path.startswith("$.type1")
    conditional = "/then/" in problem.schema_path or "/else/" in problem.schema_path
    if problem.rule == "required":
        return "H0001" if header else "E0001"
    if conditional or problem.rule in _CONSISTENCY_RULES:
        return "H0003" if header else "E0006"
    if problem.rule in _RANGE_RULES:
        return "H0002" if header else "E0003"
    return "H0002" if header else "E0002"


def errt_entries(found: list[schemas.Problem]) -> list[dict[str, str]]:
    """ERRT `msg` entries naming each field, code and rule (at most 50, the schema's limit)."""
    return [
        {
            "code": errt_code(p),
            "field": p.path,
            "text": _text(p.path, p.message, p.rule),
        }
        for p in found[:50]
    ]


def _entry(code: str, field: str, reason: str, rule: str) -> dict[str, str]:
    return {"code": code, "field": field, "text": _text(field, reason, rule)}


def _text(field: str, reason: str, rule: str) -> str:
    """An ERRT's 2.060 MSG free text: it names the EBTS tag first, as a switch reads it."""
    named = tag_name(field)
    where = f"{named} ({field})" if named else field
    return f"{where}: {reason} (rule: {rule})"[:500]


def fbi_for_key(seed: int, key: str) -> str:
    """The FBI number IAFIS gives the subject with this biometric key (EBTS 2.014 FBI)."""
    digest = hashlib.blake2b(f"{seed}\x1f{key}".encode(), digest_size=8).digest()
    number = int.from_bytes(digest, "big")
    first, second = (string.ascii_uppercase[(number >> shift) % 26] for shift in (20, 25))
    return f"{number % 10**6:06d}{first}{second}{(number >> 30) % 10}"


def earliest(timing: TimingProfile) -> float:
    """The fewest seconds after receipt any step of `timing` can take: a submission is planned
    then (at intake only the submission and one timer are ledgered; its steps once planned)."""
    floors: list[float] = []
    for spec in timing.document["steps"].values():
        if "fixed" in spec:
            floors.append(float(spec["fixed"]))
        elif "uniform" in spec:
            floors.append(float(spec["uniform"]["low"]))
        else:
            floors.append(0.0)
    return max(0.0, min(floors, default=0.0))


def _errt(build: Builder, entries: list[dict[str, str]], *, permanent: bool) -> dict[str, Any]:
    return build.message("ERRT", {"msg": entries, "permanent": permanent})


def _fault_steps(case: Case, build: Builder, first: float) -> list[Step]:
    steps: list[Step] = []
    if case.fault("malformed-delivery"):
        steps.append(Step(first, "deliver", "sib", None, raw='{"type1": {"tot": "SRE", '))
    if case.fault("invalid-delivery"):
        broken = build.message("SRE", {"srf": "I"})
        steps.append(Step(first, "deliver", "sib", broken))
    return steps


class _Context(NamedTuple):
    """What every step of one submission's plan needs: its templates, scenario case and timing."""

    submission: dict[str, Any]
    build: Builder
    case: Case
    timing: TimingProfile
    facts: dict[str, Any]
    copies: int
    """How many times each delivery goes (2 under the `duplicate-delivery` fault)."""


async def plan_submission(
    submission: Any,
    *,
    received: datetime,
    scenario: Scenario,
    repository: IdentRepository,
    key_for_fbi: Callable[[str], Awaitable[str | None]],
    case_for: Callable[[dict[str, Any], str | None], Case] | None = None,
    valid: bool = False,
) -> Plan:
    """Plan everything a submission with a valid TCN starts (`valid`: already found to be a
    valid CAR or CPI, at intake), agency by agency: CJIS's checks (an ERRT), the IAFIS SRE, the
    IDENT search, LESC and the DRO on a match, and the second response to the SIB.

    `key_for_fbi` looks up the biometric key of an FBI number on file (for a CPI).
    """
    tot = submission["type1"].get("tot")
    accepted = tot in ("CAR", "CPI")
    found = (
        []
        if valid and accepted
        else schemas.problems(str(tot).lower() if accepted else "submission", submission)
    )
    key: str | None = None
    if not found and tot == "CPI":
        key = await key_for_fbi(submission["type2"]["fbi"])
    elif not found:
        key = submission["prints"]["biometric_key"]
    case = (case_for or scenario.case)(submission, key)
    copies = 2 if case.fault("duplicate-delivery") else 1
    facts: dict[str, Any] = {"tot": tot, "biometric_key": key}
    ctx = _Context(submission, Builder(submission), case, case.timing, facts, copies)
    refusal = _cjis_refusal(ctx, found, scenario, key)
    if refusal is not None:
        return _rejected(ctx, *refusal)
    assert key is not None
    fbi = submission["type2"]["fbi"] if tot == "CPI" else fbi_for_key(scenario.seed, key)
    facts["fbi"] = fbi
    steps = await _iafis_sre(ctx, fbi, key_for_fbi)
    first = ctx.timing.delay("sre").total_seconds()
    steps += _ident_search(ctx, scenario, repository, key, fbi, received)
    first = min((s.delay for s in steps if s.action == "deliver"), default=first)
    return Plan([*_fault_steps(case, ctx.build, first), *steps], facts)


# -- CJIS: the EBTS checks at receipt (an ERRT) ---------------------------------------------


def _cjis_refusal(
    ctx: _Context, found: list[schemas.Problem], scenario: Scenario, key: str | None
) -> tuple[list[dict[str, str]], bool] | None:
    """The ERRT entries (and whether permanent) CJIS answers with, or None when it takes it."""
    submission, tot = ctx.submission, ctx.facts["tot"]
    if found:
        if tot not in ("CAR", "CPI"):
            reason = f"TOT {tot!r} is not accepted here"
            return [_entry("A0004", "$.type1.tot", reason, "CAR or CPI")], True
        return errt_entries(found), True
    header = submission["type1"]
    if header["dai"] != CJIS_ORI:
        reason = f"{header['dai']} is not the CJIS ORI {CJIS_ORI}"
        return [_entry("H0002", "$.type1.dai", reason, "DAI of CJIS")], True
    if tot == "CPI" and not scenario.is_nff(header["ori"]):
        reason = f"ORI {header['ori']} is not in an NFF state"
        return [_entry("A0004", "$.type1.tot", reason, "only NFF states send CPI")], True
    if tot == "CPI" and key is None:
        reason = f"FBI number {submission['type2']['fbi']} is not on file"
        return [_entry("E0002", "$.type2.fbi", reason, "CPI names a master record")], True
    fault = ctx.case.fault("errt")
    if fault:
        code = fault.get("code", "E0002")
        entry = _entry(
            code, fault.get("field", "$.type2"), "rejected by the scenario's fault", code
        )
        return [entry], fault.get("permanent", True)
    return None


def _rejected(ctx: _Context, entries: list[dict[str, str]], permanent: bool) -> Plan:
    ctx.facts["errt"] = entries
    delay = ctx.timing.delay("errt").total_seconds()
    errt = _errt(ctx.build, entries, permanent=permanent)
    steps = [*_fault_steps(ctx.case, ctx.build, delay), Step(delay, "deliver", "sib", errt)]
    return Plan(steps, ctx.facts)


# -- IAFIS: the SRE ---------------------------------------------------------------------------


async def _iafis_sre(
    ctx: _Context, fbi: str, key_for_fbi: Callable[[str], Awaitable[str | None]]
) -> list[Step]:
    """The IAFIS SRE of a CAR (identified when the FBI number is on file); a CPI gets none (its
    NFF additional SRE is the second response)."""
    if ctx.facts["tot"] != "CAR":
        return []
    type2 = ctx.submission["type2"]
    sre = {"srf": "I" if await key_for_fbi(fbi) else "N", "fbi": fbi, "nam": type2["nam"]}
    if "sid" in type2:
        sre["sid"] = type2["sid"]
    ctx.facts["srf"] = sre["srf"]
    delay = ctx.timing.delay("sre").total_seconds()
    return [Step(delay, "deliver", "sib", ctx.build.message("SRE", sre), copies=ctx.copies)]


# -- IDENT: the search, and on a match LESC and the DRO ---------------------------------------


def _ident_search(
    ctx: _Context,
    scenario: Scenario,
    repository: IdentRepository,
    key: str,
    fbi: str,
    received: datetime,
) -> list[Step]:
    """The IDENT search where the briefing's criteria say so; its IDR to CJIS; a no-match IDR
    or, on a match, LESC's steps and the second response."""
    submission, build, timing = ctx.submission, ctx.build, ctx.timing
    decision = ident_search(
        submission, received=received.date(), activated_oris=scenario.activated_oris()
    )
    ctx.facts["ident_search"] = decision.yes
    ctx.facts["ident_reason"] = decision.reason
    if not decision.yes:
        return []
    nff = scenario.is_nff(submission["type1"]["ori"])
    person = repository.person(key, submission)
    encounters = repository.search(key, person, ctx.case.outcome)
    d_idr = timing.delay("idr").total_seconds()
    ctx.facts["match"] = bool(encounters)
    ident_idr = build.message(
        "IDR", ident_response(encounters, None), ori="DCIDENT00", dai=CJIS_ORI
    )
    steps = [Step(d_idr, "record", "ident", ident_idr)]
    if not encounters:
        d_nm = max(d_idr, timing.delay("no_match_idr").total_seconds())
        no_match = _second(ctx, nff, fbi, ident_response([], None))
        return [*steps, Step(d_nm, "deliver", "sib", no_match, copies=ctx.copies)]
    lesc, determination, d_iar = lesc_steps(
        build, repository, key=key, person=person, fbi=fbi, encounters=encounters,
        case=ctx.case, d_idr=d_idr, facts=ctx.facts,
    )  # fmt: skip
    return [*steps, *lesc, *_second_response(ctx, nff, fbi, encounters, determination, d_iar)]


# -- the second response to the SIB: IDR/IAR, IAR then IDR, or the IDR alone at 24 hours -----


def _second(ctx: _Context, nff: bool, fbi: str, response: dict[str, Any]) -> dict[str, Any]:
    """The IDENT response as the SIB gets it: an NFF state's additional SRE, else an IDR."""
    if nff:
        sre = {"srf": "I", "fbi": fbi, "cri": [ctx.build.ori], "ident": response}
        return ctx.build.message("SRE", sre)
    return ctx.build.message("IDR", response)


def _second_response(
    ctx: _Context,
    nff: bool,
    fbi: str,
    encounters: list[dict[str, Any]],
    determination: dict[str, Any],
    d_iar: float,
) -> list[Step]:
    """On a match: the combined IDR/IAR when the IAR comes in time; with the `out-of-order` fault
    the IAR first, then the IDR; past `idr_alone_after`, the IDR alone and the late IAR as the
    case says (delivered or dropped)."""
    build, copies = ctx.build, ctx.copies
    fallback = ctx.timing.delay("idr_alone_after").total_seconds()
    if d_iar <= fallback and not ctx.case.fault("out-of-order"):
        ctx.facts["second_response"] = "IDR/IAR"
        joint = _second(ctx, nff, fbi, ident_response(encounters, determination))
        return [Step(d_iar, "deliver", "sib", joint, copies=copies)]
    if d_iar <= fallback:
        ctx.facts["second_response"] = "IAR then IDR"
        iar = build.message("IAR", determination)
        idr = _second(ctx, nff, fbi, ident_response(encounters, None))
        return [
            Step(d_iar, "deliver", "sib", iar, copies=copies),
            Step(d_iar + 0.001, "deliver", "sib", idr, copies=copies),
        ]
    ctx.facts["second_response"] = "IDR alone"
    alone = _second(ctx, nff, fbi, ident_response(encounters, None))
    steps = [Step(fallback, "deliver", "sib", alone, copies=copies)]
    ctx.facts["late_iar"] = ctx.case.late_iar
    if ctx.case.late_iar == "deliver":
        late = build.message("IAR", determination)
        steps.append(Step(d_iar, "deliver", "sib", late, copies=copies))
    return steps
