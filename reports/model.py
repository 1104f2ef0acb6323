"""The report model: a run's results turned into the document `schemas/report.json` describes.

Outcomes of a check: `passed`; `failed` (the SIB broke the rule); `error` (the harness could not
carry the check out); `not-applicable` (the rule is not for this profile); `not-run` (filtered out
of a partial run, or left when the run was stopped). The verdict and its exit code follow from
them (`verdict`).
"""

from __future__ import annotations

import re
import uuid
from importlib import metadata
from typing import Any

import schemas

__all__ = ["OUTCOMES", "build_report", "cite", "exit_code", "harness_version", "verdict"]

OUTCOMES = ("passed", "failed", "error", "not-applicable", "not-run")
"""Every outcome a check can have, in the order totals list them."""


def harness_version() -> str:
    """The installed harness version."""
    try:
        return metadata.version("interop-harness")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def exit_code(verdict_name: str) -> int:
    """The exit code of a verdict, as `schemas/report.json` documents it (`x-exit-codes`)."""
    codes: dict[str, int] = schemas.schema("report")["properties"]["verdict"]["x-exit-codes"]
    return codes[verdict_name]


def _status(outcomes: list[str]) -> str:
    for status in ("failed", "error", "not-run"):
        if status in outcomes:
            return status
    if not outcomes or all(o == "not-applicable" for o in outcomes):
        return "not-applicable"
    return "passed"


def verdict(
    requirements: list[dict[str, Any]], *, budget_factor: float = 1.0, stopped: bool = False
) -> str:
    """The verdict over requirements with their `level` and `status`.

    error when nothing could be checked; not conformant when a MUST failed; incomplete when a
    requirement was not run or could not be carried out, the time budgets were relaxed
    (`budget_factor` above 1) or the run was `stopped` before its end; conformant with findings
    when only SHOULDs failed; conformant otherwise.
    """
    statuses = [r["status"] for r in requirements]
    carried_out = [s for s in statuses if s in ("passed", "failed")]
    if "error" in statuses and not carried_out:
        return "error"
    if any(r["status"] == "failed" and r["level"] == "MUST" for r in requirements):
        return "not-conformant"
    if "error" in statuses or "not-run" in statuses or budget_factor > 1 or stopped:
        return "incomplete"
    if "failed" in statuses:
        return "conformant-with-findings"
    return "conformant"


def cite(source: dict[str, Any]) -> str:
    """A catalog source as a certifier cites it: document title and section ('SOP §2.1.4')."""
    section = str(source["section"])
    if re.match(r"^([0-9]|[IVX]+\.|Appendix)", section):
        return f"{source['title']} §{section}"
    return f"{source['title']}: {section}"


def _check(result: dict[str, Any]) -> dict[str, Any]:
    evidence = result.get("evidence", [])
    ids = {e["id"] for e in evidence}
    return {
        "name": result["check"],
        "requirement": result["requirement"],
        "outcome": result["outcome"],
        "duration": float(result.get("duration", 0.0)),
        "message": result.get("message", ""),
        "evidence": evidence,
        "highlight": [i for i in dict.fromkeys(result.get("highlight", [])) if i in ids],
    }


def build_report(
    results: dict[str, Any],
    catalog: list[dict[str, Any]] | tuple[dict[str, Any], ...],
    *,
    sut_name: str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """The report of a run (`results.json` as the suite wrote it), validated."""
    checks = [_check(r) for r in results["results"]]
    requirements = []
    for requirement in catalog:
        outcomes = [c["outcome"] for c in checks if c["requirement"] == requirement["id"]]
        requirements.append(
            {
                "id": requirement["id"],
                "rule": requirement["rule"],
                "level": requirement["level"],
                "sources": [cite(s) for s in requirement["sources"]],
                "status": _status(outcomes) if outcomes else "not-run",
                "checks": list(requirement["checks"]),
            }
        )
    budgets = {
        "factor": float(results.get("budget_factor", 1.0)),
        "run_seed": int(results.get("run_seed", 0)),
        "random_order": bool(results.get("random_order", False)),
    }
    stopped = results.get("stopped")
    outcome = verdict(requirements, budget_factor=budgets["factor"], stopped=stopped is not None)
    report: dict[str, Any] = {
        "run_id": run_id or uuid.uuid4().hex,
        "harness_version": harness_version(),
        "schemas_digest": schemas.digest(),
        "sut": {
            "name": sut_name or results["sut_url"],
            "url": results["sut_url"],
            "profile": results["profile"],
        },
        "clock": results["clock"],
        "budgets": budgets,
        "started": results["started"],
        "finished": results["finished"],
        "verdict": outcome,
        "exit_code": exit_code(outcome),
        "complete": stopped is None and all(r["status"] != "not-run" for r in requirements),
        "totals": {k: sum(1 for c in checks if c["outcome"] == k) for k in OUTCOMES},
        "requirements": requirements,
        "checks": checks,
    }
    if stopped is not None:
        report["stopped"] = {"cause": stopped["cause"], "reason": stopped["reason"]}
    schemas.validate("report", report)
    return report
