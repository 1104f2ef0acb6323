"""The report as Markdown, fit for a CI job summary."""

from __future__ import annotations

from typing import Any

__all__ = ["render_markdown"]

_MARK = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "not-applicable": "n/a",
    "error": "⚠️ error",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any]) -> str:
    """A Markdown summary: verdict, totals, the requirement matrix, each failure."""
    totals = report["totals"]
    verdict = "CONFORMANT" if report["verdict"] == "conformant" else "NOT CONFORMANT"
    profile = report["sut"]["profile"]
    lines = [
        f"# Conformance report: {verdict}",
        "",
        f"SIB **{_cell(report['sut']['name'])}** ({profile['state']}, "
        f"{'NFF' if profile['nff'] else 'not NFF'}, routing "
        f"{'on' if profile['message_routing'] else 'off'}); clock {report['clock']['mode']}; "
        f"run `{report['run_id']}`; harness {report['harness_version']}; "
        f"schemas `{report['schemas_digest'][:12]}`.",
        "",
        f"{totals['passed']} passed, {totals['failed']} failed, {totals['error']} errors, "
        f"{totals['not-applicable']} not applicable.",
        "",
        "| requirement | level | status | rule |",
        "|---|---|---|---|",
    ]
    for requirement in report["requirements"]:
        lines.append(
            f"| {requirement['id']} | {requirement['level']} | {_MARK[requirement['status']]} "
            f"| {_cell(requirement['rule'])} |"
        )
    failures = [c for c in report["checks"] if c["outcome"] in ("failed", "error")]
    if failures:
        lines += ["", "## Failures", ""]
        for check in failures:
            message = check["message"].strip().splitlines()
            last = _cell(message[-1]) if message else ""
            lines.append(f"- **{check['requirement']}** `{check['name']}`: {last}")
    signature = report.get("signature")
    if signature:
        kind = "a throwaway key" if signature["throwaway"] else "the configured key"
        lines += ["", f"Signed (Ed25519, {kind}): `{signature['public_key'][:16]}…`"]
    return "\n".join(lines) + "\n"
