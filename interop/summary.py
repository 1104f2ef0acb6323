"""How a run ends on the terminal: each check that did not pass, the totals, the verdict."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TextIO

from .common import CliError

__all__ = [
    "VERDICT_WORDS",
    "print_checks",
    "publish_report",
    "totals_line",
    "verdict_line",
    "worst",
]

VERDICT_WORDS = {
    "conformant": "conformant",
    "conformant-with-findings": "conformant with findings",
    "not-conformant": "not conformant",
    "incomplete": "incomplete",
    "error": "error",
}
_SEVERITY = ("error", "not-conformant", "incomplete", "conformant-with-findings", "conformant")


def worst(verdicts: list[str]) -> str:
    """The most severe of several verdicts (error, not conformant, incomplete, findings)."""
    return min(verdicts, key=_SEVERITY.index) if verdicts else "conformant"


def print_checks(report: dict[str, Any], out: TextIO, *, indent: str = "   ") -> None:
    """Each failed or errored check, one line with its requirement, level and reason."""
    level = {r["id"]: r["level"] for r in report["requirements"]}
    ordered = sorted(report["checks"], key=lambda c: (c["outcome"] != "failed", c["requirement"]))
    for check in ordered:
        if check["outcome"] not in ("failed", "error"):
            continue
        word = "FAIL" if check["outcome"] == "failed" else "ERROR"
        head = f"{check['requirement']} ({level.get(check['requirement'], '?')})"
        print(f"{indent}{word} {head} {check['name']}: {check['message']}", file=out)


def _why(report: dict[str, Any]) -> str:
    requirements = report["requirements"]

    def ids(status: str, level: str | None = None) -> str:
        return ", ".join(
            r["id"]
            for r in requirements
            if r["status"] == status and (level is None or r["level"] == level)
        )

    verdict = report["verdict"]
    if verdict == "conformant":
        return "every requirement that applies was checked and passed"
    if verdict == "conformant-with-findings":
        return f"only SHOULD requirements failed: {ids('failed', 'SHOULD')}"
    if verdict == "not-conformant":
        return f"MUST requirements failed: {ids('failed', 'MUST')}"
    if verdict == "error":
        return "no check could be carried out: the harness could not test"
    parts = []
    if report.get("stopped"):
        parts.append(report["stopped"]["reason"])
    if ids("not-run"):
        parts.append(f"a partial run: {len(ids('not-run').split(', '))} requirements not run")
    if ids("error"):
        parts.append(f"could not be carried out: {ids('error')}")
    factor = report.get("budgets", {}).get("factor", 1.0)
    if factor > 1:
        parts.append(f"the time budgets were relaxed (x{factor:g}); certification uses 1")
    return "; ".join(parts) + "; only a complete run can be conformant"


def verdict_line(report: dict[str, Any]) -> str:
    """`verdict: not conformant (exit 1): MUST requirements failed: RTE-1`."""
    words = VERDICT_WORDS[report["verdict"]]
    why = _why(report)
    if report.get("stopped") and report["verdict"] != "incomplete":
        why += f"; {report['stopped']['reason']}"
    return f"verdict: {words} (exit {report['exit_code']}): {why}"


def totals_line(report: dict[str, Any]) -> str:
    """`17 passed, 1 failed, 0 errors, 2 not applicable, 0 not run`."""
    t = report["totals"]
    return (
        f"{t['passed']} passed, {t['failed']} failed, {t['error']} errors, "
        f"{t['not-applicable']} not applicable, {t['not-run']} not run"
    )


def publish_report(folder: Path, key: str | None, name: str) -> tuple[dict[str, Any], bool]:
    """Build, sign and write the report of the run in `folder`; `CliError` (exit 5) if none."""
    from conformance.run import publish
    from reports.signing import SignatureError

    try:
        return publish(
            folder, signing_key=key or os.environ.get("INTEROP_SIGNING_KEY") or None, sut_name=name
        )
    except (OSError, ValueError, KeyError) as exc:
        if isinstance(exc, SignatureError):
            raise CliError(str(exc), 5) from None
        raise CliError(
            f"no report: the run left no usable results in {folder} ({exc}); see "
            f"{folder / 'pytest.log'}",
            5,
        ) from None
