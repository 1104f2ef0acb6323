"""The report as Markdown, fit for a CI job summary."""

from __future__ import annotations

from typing import Any

from .signing import signature_problem

__all__ = ["render_markdown"]

_MARK = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "not-applicable": "n/a",
    "not-run": "not run",
    "error": "⚠️ could not be carried out",
}
_TITLES = {
    "conformant": "CONFORMANT",
    "conformant-with-findings": "CONFORMANT WITH FINDINGS",
    "not-conformant": "NOT CONFORMANT",
    "incomplete": "INCOMPLETE",
    "error": "ERROR (not tested)",
}


def _cell(text: str) -> str:
    return (
        str(text)
        .replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("\n", " ")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def render_markdown(report: dict[str, Any]) -> str:
    """A Markdown summary: verdict and exit code, the failed requirements, totals, the matrix."""
    totals = report["totals"]
    profile = report["sut"]["profile"]
    level = {r["id"]: r["level"] for r in report["requirements"]}
    problem = signature_problem(report)
    lines = [
        f"# Conformance report: {_TITLES[report['verdict']]} (exit code {report['exit_code']})",
        "",
    ]
    if problem is not None:
        lines += [f"> **🛑 Signature does not verify**: {_cell(problem)}; do not rely on it.", ""]
    if "stopped" in report:
        reason = _cell(report["stopped"]["reason"])
        lines += [f"Stopped before its end: {reason}; the checks not finished were not run.", ""]
    lines += [
        f"SIB **{_cell(report['sut']['name'])}** ({_cell(profile['state'])}, "
        f"{'NFF' if profile['nff'] else 'not NFF'}, routing "
        f"{'on' if profile['message_routing'] else 'off'}); clock {report['clock']['mode']}; "
        f"time budgets x{report.get('budgets', {}).get('factor', 1.0):g} of the catalog's; "
        f"{'complete' if report['complete'] else 'partial'} run `{report['run_id']}`; "
        f"harness {_cell(report['harness_version'])}; schemas `{report['schemas_digest'][:12]}`.",
        "",
        f"{totals['passed']} passed, {totals['failed']} failed, {totals['error']} could not be "
        f"carried out, {totals['not-applicable']} not applicable, {totals['not-run']} not run.",
    ]
    failures = [c for c in report["checks"] if c["outcome"] in ("failed", "error")]
    failures.sort(key=lambda c: (c["outcome"] != "failed", level.get(c["requirement"]) != "MUST"))
    if failures:
        lines += ["", "## Failures", ""]
        for check in failures:
            what = "" if check["outcome"] == "failed" else " (could not be carried out)"
            lines.append(
                f"- **{_cell(check['requirement'])}** ({level.get(check['requirement'], '?')})"
                f"{what}: {_cell(check['message'])} (`{_cell(check['name'])}`)"
            )
    lines += ["", "| requirement | level | status | rule |", "|---|---|---|---|"]
    for requirement in report["requirements"]:
        lines.append(
            f"| {_cell(requirement['id'])} | {requirement['level']} "
            f"| {_MARK[requirement['status']]} | {_cell(requirement['rule'])} |"
        )
    signature = report.get("signature")
    if signature and problem is None:
        kind = "a throwaway key" if signature["throwaway"] else "the configured key"
        lines += ["", f"Signed (Ed25519, {kind}): `{signature['public_key'][:16]}…`"]
    return "\n".join(lines) + "\n"
