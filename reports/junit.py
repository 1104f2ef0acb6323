"""The report as JUnit XML (Jenkins, GitLab, GitHub): one test case per check."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

__all__ = ["render_junit"]


def render_junit(report: dict[str, Any]) -> str:
    """JUnit XML with the requirement ID of each check as a property."""
    checks = report["checks"]
    totals = report["totals"]
    suites = ET.Element("testsuites", name="interop conformance")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"conformance {report['sut']['name']}",
        tests=str(len(checks)),
        failures=str(totals["failed"]),
        errors=str(totals["error"]),
        skipped=str(totals["not-applicable"]),
        time=f"{sum(c['duration'] for c in checks):.3f}",
        timestamp=report["started"]["wall"].removesuffix("Z"),
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("run_id", report["run_id"]),
        ("verdict", report["verdict"]),
        ("schemas_digest", report["schemas_digest"]),
        ("harness_version", report["harness_version"]),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    for check in checks:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"requirement.{check['requirement']}",
            name=check["name"],
            time=f"{check['duration']:.3f}",
        )
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="requirement", value=check["requirement"])
        if check["outcome"] == "failed":
            failure = ET.SubElement(case, "failure", message=_first_line(check["message"]))
            failure.text = check["message"]
        elif check["outcome"] == "error":
            error = ET.SubElement(case, "error", message=_first_line(check["message"]))
            error.text = check["message"]
        elif check["outcome"] == "not-applicable":
            ET.SubElement(case, "skipped", message="requirement does not apply to this profile")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def _first_line(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
