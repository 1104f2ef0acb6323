"""The report model: a run's results turned into the document `schemas/report.json` describes."""

from __future__ import annotations

import uuid
from importlib import metadata
from typing import Any

import schemas

__all__ = ["build_report", "harness_version"]


def harness_version() -> str:
    """The installed harness version."""
    try:
        return metadata.version("interop-harness")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _status(outcomes: list[str]) -> str:
    if not outcomes or all(o == "not-applicable" for o in outcomes):
        return "not-applicable"
    return "passed" if all(o in ("passed", "not-applicable") for o in outcomes) else "failed"


def build_report(
    results: dict[str, Any],
    catalog: list[dict[str, Any]] | tuple[dict[str, Any], ...],
    *,
    sut_name: str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """The report of a run (`results.json` as the suite wrote it), validated."""
    checks = [
        {
            "name": r["check"],
            "requirement": r["requirement"],
            "outcome": r["outcome"],
            "duration": float(r.get("duration", 0.0)),
            "message": r.get("message", ""),
            "evidence": r.get("evidence", []),
        }
        for r in results["results"]
    ]
    requirements = []
    for requirement in catalog:
        outcomes = [c["outcome"] for c in checks if c["requirement"] == requirement["id"]]
        requirements.append(
            {
                "id": requirement["id"],
                "rule": requirement["rule"],
                "level": requirement["level"],
                "sources": [
                    f"{s['title']} {s['section']} ({s['document']})" for s in requirement["sources"]
                ],
                "status": _status(outcomes),
                "checks": list(requirement["checks"]),
            }
        )
    must_fail = any(r["status"] == "failed" and r["level"] == "MUST" for r in requirements)
    totals = {k: sum(1 for c in checks if c["outcome"] == k) for k in
              ("passed", "failed", "error", "not-applicable")}  # fmt: skip
    report = {
        "run_id": run_id or uuid.uuid4().hex,
        "harness_version": harness_version(),
        "schemas_digest": schemas.digest(),
        "sut": {
            "name": sut_name or results["sut_url"],
            "url": results["sut_url"],
            "profile": results["profile"],
        },
        "clock": results["clock"],
        "started": results["started"],
        "finished": results["finished"],
        "verdict": "not-conformant" if must_fail or totals["error"] else "conformant",
        "totals": totals,
        "requirements": requirements,
        "checks": checks,
    }
    schemas.validate("report", report)
    return report
