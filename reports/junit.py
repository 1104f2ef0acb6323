"""The report as JUnit XML (Jenkins, GitLab, GitHub): one test case per check; a failure's message
is its reason in domain words with the requirement ID and level."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from .signing import signature_problem

__all__ = ["render_junit"]

_SKIPPED = {
    "not-applicable": "not applicable: the requirement does not apply to this SUT profile",
    "not-run": "not run: filtered out of this partial run (--requirement)",
}
"""Why a check was skipped, unless its message says (a check left when the run was stopped)."""


def render_junit(report: dict[str, Any]) -> str:
    """JUnit XML with the requirement ID and level of each check as properties, and the verdict
    and its exit code as properties of the suite."""
    checks = report["checks"]
    totals = report["totals"]
    problem = signature_problem(report)
    level = {r["id"]: r["level"] for r in report["requirements"]}
    suites = ET.Element("testsuites", name="interop conformance")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"conformance {report['sut']['name']}",
        tests=str(len(checks)),
        failures=str(totals["failed"]),
        errors=str(totals["error"]),
        skipped=str(totals["not-applicable"] + totals["not-run"]),
        time=f"{sum(c['duration'] for c in checks):.3f}",
        timestamp=report["started"]["wall"].removesuffix("Z"),
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("run_id", report["run_id"]),
        ("verdict", report["verdict"]),
        ("exit_code", str(report["exit_code"])),
        ("complete", "true" if report["complete"] else "false"),
        ("schemas_digest", report["schemas_digest"]),
        ("harness_version", report["harness_version"]),
        ("signature", f"does not verify: {problem}" if problem else "verified"),
        *([("stopped", report["stopped"]["reason"])] if "stopped" in report else []),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    for check in checks:
        requirement = check["requirement"]
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"requirement.{requirement}",
            name=check["name"],
            time=f"{check['duration']:.3f}",
        )
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="requirement", value=requirement)
        ET.SubElement(props, "property", name="level", value=level.get(requirement, "?"))
        reason = f"{requirement} ({level.get(requirement, '?')}): {check['message']}"
        if check["outcome"] == "failed":
            ET.SubElement(case, "failure", message=reason).text = reason
        elif check["outcome"] == "error":
            ET.SubElement(
                case, "error", message=f"could not be carried out: {reason}"
            ).text = reason
        elif check["outcome"] in _SKIPPED:
            ET.SubElement(case, "skipped", message=check["message"] or _SKIPPED[check["outcome"]])
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")
