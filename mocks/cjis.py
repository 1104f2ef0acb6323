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
from protocol.ebts import CJIS_ORI, LESC_ORI, dro_ori, ori_state, sib_ori_of
from protocol.submission import ident_search
from protocol.timing import TimingProfile

from .ident import IdentRepository
from .scenario import Case, Scenario

__all__ = [
    "Plan",
    "Step",
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
            "text": f"{p.path}: {p.message} (rule: {p.rule})"[:500],
        }
        for p in found[:50]
    ]


def _entry(code: str, field: str, reason: str, rule: str) -> dict[str, str]:
    return {"code": code, "field": field, "text": f"{field}: {reason} (rule: {rule})"[:500]}


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


def _tcn(submission_tcn: str, tot: str, n: int) -> str:
    digest = hashlib.blake2b(f"{submission_tcn}\x1f{n}".encode(), digest_size=10).hexdigest()
    return f"{tot}-{digest.upper()}"


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


class _Builder:
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
            "dai": dai or sib_ori_of(self.ori),
            "ori": ori,
            "tcn": _tcn(self.tcn, tot, self._n),
            "tcr": self.tcn,
        }

    def message(self, tot: str, type2: dict[str, Any], **where: str) -> dict[str, Any]:
        return {"type1": self.type1(tot, **where), "type2": type2}


def _ident_response(encounters: list[dict[str, Any]], iar: dict[str, Any] | None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "result": "match" if encounters else "no-match",
        "encounters": encounters,
    }
    if iar is not None:
        response["iar"] = iar
    return response


def _errt(build: _Builder, entries: list[dict[str, str]], *, permanent: bool) -> dict[str, Any]:
    return build.message("ERRT", {"msg": entries, "permanent": permanent})


def _fault_steps(case: Case, build: _Builder, first: float) -> list[Step]:
    steps: list[Step] = []
    if case.fault("malformed-delivery"):
        steps.append(Step(first, "deliver", "sib", None, raw='{"type1": {"tot": "SRE", '))
    if case.fault("invalid-delivery"):
        broken = build.message("SRE", {"srf": "I"})
        steps.append(Step(first, "deliver", "sib", broken))
    return steps


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
    valid CAR or CPI, at intake).

    `key_for_fbi` looks up the biometric key of an FBI number on file (for a CPI).
    """
    build = _Builder(submission)
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
    timing = case.timing
    facts: dict[str, Any] = {"tot": tot, "biometric_key": key}

    def rejected(entries: list[dict[str, str]], permanent: bool) -> Plan:
        facts["errt"] = entries
        delay = timing.delay("errt").total_seconds()
        steps = [
            *_fault_steps(case, build, delay),
            Step(delay, "deliver", "sib", _errt(build, entries, permanent=permanent)),
        ]
        return Plan(steps, facts)

    if found:
        if not accepted:
            reason = f"TOT {tot!r} is not accepted here"
            return rejected([_entry("A0004", "$.type1.tot", reason, "CAR or CPI")], True)
        return rejected(errt_entries(found), True)
    header = submission["type1"]
    if header["dai"] != CJIS_ORI:
        reason = f"{header['dai']} is not the CJIS ORI {CJIS_ORI}"
        return rejected([_entry("H0002", "$.type1.dai", reason, "DAI of CJIS")], True)
    nff = scenario.is_nff(header["ori"])
    if tot == "CPI" and not nff:
        reason = f"ORI {header['ori']} is not in an NFF state"
        return rejected([_entry("A0004", "$.type1.tot", reason, "only NFF states send CPI")], True)
    if tot == "CPI" and key is None:
        reason = f"FBI number {submission['type2']['fbi']} is not on file"
        return rejected([_entry("E0002", "$.type2.fbi", reason, "CPI names a master record")], True)
    fault = case.fault("errt")
    if fault:
        field = fault.get("field", "$.type2")
        code = fault.get("code", "E0002")
        entry = _entry(code, field, "rejected by the scenario's injected fault", code)
        return rejected([entry], fault.get("permanent", True))

    assert key is not None
    steps: list[Step] = []
    copies = 2 if case.fault("duplicate-delivery") else 1
    fbi = submission["type2"]["fbi"] if tot == "CPI" else fbi_for_key(scenario.seed, key)
    facts["fbi"] = fbi
    d_sre = timing.delay("sre").total_seconds()
    first = d_sre
    if tot == "CAR":
        sre = {
            "srf": "I" if await key_for_fbi(fbi) else "N",
            "fbi": fbi,
            "nam": submission["type2"]["nam"],
        }
        if "sid" in submission["type2"]:
            sre["sid"] = submission["type2"]["sid"]
        facts["srf"] = sre["srf"]
        steps.append(Step(d_sre, "deliver", "sib", build.message("SRE", sre), copies=copies))

    decision = ident_search(
        submission, received=received.date(), activated_oris=scenario.activated_oris()
    )
    facts["ident_search"] = decision.yes
    facts["ident_reason"] = decision.reason

    def second(response: dict[str, Any]) -> dict[str, Any]:
        if nff:
            return build.message("SRE", {"srf": "I", "fbi": fbi, "ident": response})
        return build.message("IDR", response)

    if decision.yes:
        person = repository.person(key, submission)
        encounters = repository.search(key, person, case.outcome)
        d_idr = timing.delay("idr").total_seconds()
        facts["match"] = bool(encounters)
        ident_idr = build.message(
            "IDR", _ident_response(encounters, None), ori="DCIDENT00", dai=CJIS_ORI
        )
        steps.append(Step(d_idr, "record", "ident", ident_idr))
        if not encounters:
            d_nm = max(d_idr, timing.delay("no_match_idr").total_seconds())
            steps.append(
                Step(d_nm, "deliver", "sib", second(_ident_response([], None)), copies=copies)
            )
        else:
            lea = header["ori"]
            charges = submission["type2"]["asl"]
            iaq = {
                **{f: person[f] for f in ("nam", "dob", "pob", "sex")},
                "fbi": fbi,
                "asl": charges,
                "lea": lea,
                "srl": [e["srl"] for e in encounters],
            }
            steps.append(Step(d_idr, "record", "lesc", build.message("IAQ", iaq, dai=LESC_ORI)))
            determination = repository.determine(
                key, person, charges, lea=lea, outcome=case.outcome
            )
            determination["fbi"] = fbi
            facts["offense_level"] = determination["offense_level"]
            facts["alienage"] = determination["alienage"]
            d_iar = max(d_idr, timing.delay("iar").total_seconds())
            fallback = timing.delay("idr_alone_after").total_seconds()
            steps.append(
                Step(
                    d_iar,
                    "record",
                    "lesc",
                    build.message("IAR", determination, ori=LESC_ORI, dai=CJIS_ORI),
                )
            )
            dro = dro_ori(ori_state(lea))
            steps.append(
                Step(
                    d_iar,
                    "record",
                    "dro",
                    build.message("IAR", determination, ori=LESC_ORI, dai=dro),
                )
            )
            if determination["offense_level"] == 1 and determination["alienage"] == "alien":
                steps.append(Step(d_iar, "record", "dro", _detainer(build, person, fbi, lea, dro)))
            if d_iar <= fallback and not case.fault("out-of-order"):
                facts["second_response"] = "IDR/IAR"
                steps.append(
                    Step(
                        d_iar,
                        "deliver",
                        "sib",
                        second(_ident_response(encounters, determination)),
                        copies=copies,
                    )
                )
            elif d_iar <= fallback:
                facts["second_response"] = "IAR then IDR"
                steps.append(
                    Step(
                        d_iar, "deliver", "sib", build.message("IAR", determination), copies=copies
                    )
                )
                steps.append(
                    Step(
                        d_iar + 0.001,
                        "deliver",
                        "sib",
                        second(_ident_response(encounters, None)),
                        copies=copies,
                    )
                )
            else:
                facts["second_response"] = "IDR alone"
                steps.append(
                    Step(
                        fallback,
                        "deliver",
                        "sib",
                        second(_ident_response(encounters, None)),
                        copies=copies,
                    )
                )
                facts["late_iar"] = case.late_iar
                if case.late_iar == "deliver":
                    steps.append(
                        Step(
                            d_iar,
                            "deliver",
                            "sib",
                            build.message("IAR", determination),
                            copies=copies,
                        )
                    )
    first = min((s.delay for s in steps if s.action == "deliver"), default=first)
    return Plan([*_fault_steps(case, build, first), *steps], facts)


def _detainer(
    build: _Builder, person: dict[str, Any], fbi: str, lea: str, dro: str
) -> dict[str, Any]:
    digest = int(hashlib.blake2b(build.tcn.encode(), digest_size=4).hexdigest(), 16)
    return {
        "type1": build.type1("DET", ori=dro, dai=lea),
        "form": "I-247",
        "subject": {
            **{f: person[f] for f in ("nam", "dob", "pob", "sex")},
            "fbi": fbi,
            "file_no": f"SYN-A{digest % 10**9:09d}",
        },
        "lea": lea,
        "dro": dro,
        "actions": ["investigation-initiated"],
        "offense_level": 1,
    }
