"""Reports: built from a run's results, with honest verdicts, signed over every field, validated
before they are rendered, rendered for the person who signs them."""

from __future__ import annotations

import copy
import json
import re
import shutil
from html import unescape
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import schemas
from conformance.catalog import requirements
from conformance.finding import Finding
from conformance.outcomes import classify
from conformance.run import check, publish, stage
from interop import main
from interop.summary import verdict_line
from reports.files import FORMATS, render, write_all
from reports.html import render_html
from reports.model import build_report
from reports.signing import SignatureError, load_or_create_key, sign, verify


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run of the suite against the reference SIB (NFF profile)."""
    folder = tmp_path_factory.mktemp("run")
    with stage("nff") as profile:
        path = folder / "sut-profile.json"
        path.write_text(json.dumps(profile))
        check(path, report_dir=folder, extra=["--budget-factor", "0.1"])
    return folder


@pytest.fixture(scope="module")
def results(run_dir: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((run_dir / "results.json").read_text())
    return found


@pytest.fixture(scope="module")
def report(results: dict[str, Any]) -> dict[str, Any]:
    key, _ = load_or_create_key(None)
    return sign(build_report(results, requirements(), sut_name="reference"), key, throwaway=True)


def _with(results: dict[str, Any], **outcomes: str) -> dict[str, Any]:
    """The run's results with some requirements' checks given another outcome."""
    changed = copy.deepcopy(results)
    for result in changed["results"]:
        outcome = outcomes.get(result["requirement"].replace("-", "_"), outcomes.get("others"))
        if outcome is not None and result["outcome"] != "not-applicable":
            result["outcome"] = outcome
            result["message"] = "" if outcome == "passed" else f"the SIB did {outcome} things"
    return changed


VERDICTS = [
    ({}, "conformant", 0),
    ({"RTE_5": "failed"}, "conformant-with-findings", 3),
    ({"TIM_3": "failed"}, "not-conformant", 1),
    ({"TIM_3": "failed", "RTE_5": "failed"}, "not-conformant", 1),
    ({"TIM_3": "failed", "others": "not-run"}, "not-conformant", 1),
    ({"SUB_1": "error"}, "incomplete", 4),
    ({"RTE_5": "failed", "SUB_1": "error"}, "incomplete", 4),
    ({"others": "not-run", "SUB_1": "passed"}, "incomplete", 4),
    ({"others": "error"}, "error", 5),
]


@pytest.mark.parametrize(("outcomes", "verdict", "code"), VERDICTS)
def test_each_verdict_and_its_exit_code_the_same_in_every_format(
    results: dict[str, Any], outcomes: dict[str, str], verdict: str, code: int
) -> None:
    built = build_report(_with(results, **outcomes), requirements())
    assert (built["verdict"], built["exit_code"]) == (verdict, code)
    suite = ET.fromstring(render(built, "junit").encode()).find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert (props["verdict"], props["exit_code"]) == (verdict, str(code))
    title = verdict.upper().replace("-", " ")
    first = render(built, "md").splitlines()[0]
    assert first.startswith(f"# Conformance report: {title.replace('ERROR', 'ERROR (not tested)')}")
    assert first.endswith(f"(exit code {code})")


def test_only_a_complete_run_is_conformant(results: dict[str, Any]) -> None:
    partial = copy.deepcopy(results)
    partial["results"] = [r for r in partial["results"] if r["requirement"] != "SUB-1"]
    built = build_report(partial, requirements())
    assert (built["verdict"], built["complete"]) == ("incomplete", False)
    assert {r["id"]: r["status"] for r in built["requirements"]}["SUB-1"] == "not-run"


def test_report_validates_and_says_conformant(report: dict[str, Any]) -> None:
    assert schemas.problems("report", report) == []
    assert (report["verdict"], report["exit_code"], report["complete"]) == ("conformant", 0, True)
    applicable = sum(1 for c in report["checks"] if c["outcome"] != "not-applicable")
    assert applicable >= 25
    assert report["totals"] == {
        "passed": applicable,
        "failed": 0,
        "error": 0,
        "not-applicable": len(report["checks"]) - applicable,
        "not-run": 0,
    }
    assert report["schemas_digest"] == schemas.digest()
    assert report["clock"] == {"mode": "manual", "scale": 1.0}
    assert report["finished"]["virtual"] > report["started"]["virtual"]
    evidence = {e["channel"] for c in report["checks"] for e in c["evidence"]}
    assert {"cjis", "sib", "ident", "lesc", "dro"} <= evidence
    assert any(channel.startswith("lea:") for channel in evidence)


def test_sources_are_cited_by_title_and_section(report: dict[str, Any]) -> None:
    sources = {s for r in report["requirements"] for s in r["sources"]}
    assert "SOP §2.1.1" in sources
    assert "MOA §IV.A" in sources
    assert not any(".txt" in s for s in sources)
    assert ".txt" not in render(report, "html")


def test_junit_failure_message_is_the_reason_with_id_and_level(results: dict[str, Any]) -> None:
    built = build_report(_with(results, RTE_5="failed", SUB_1="error"), requirements())
    root = ET.fromstring(render(built, "junit").encode())
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert int(suite.get("tests", "-1")) == len(cases) == len(built["checks"])
    assert int(suite.get("failures", "-1")) == len(suite.findall("testcase/failure")) == 1
    assert int(suite.get("errors", "-1")) == len(suite.findall("testcase/error")) == 1
    assert int(suite.get("skipped", "-1")) == built["totals"]["not-applicable"]
    failure = suite.find("testcase[@classname='requirement.RTE-5']/failure")
    assert failure is not None
    assert failure.get("message") == "RTE-5 (SHOULD): the SIB did failed things"
    for case in cases:
        prop = case.find("properties/property[@name='requirement']")
        assert prop is not None
        assert case.get("classname") == f"requirement.{prop.get('value')}"


def test_markdown_lists_every_requirement_and_the_failures(results: dict[str, Any]) -> None:
    text = render(build_report(_with(results, TIM_3="failed"), requirements()), "md")
    assert text.startswith("# Conformance report: NOT CONFORMANT (exit code 1)")
    for requirement in requirements():
        assert f"| {requirement['id']} |" in text
    assert "- **TIM-3** (MUST): the SIB did failed things" in text


def test_rendering_is_deterministic(report: dict[str, Any]) -> None:
    for fmt in FORMATS:
        assert render(report, fmt) == render(copy.deepcopy(report), fmt)


def _submitted(check: dict[str, Any]) -> set[str]:
    """The TCNs a check's SIB submitted to CJIS: its transactions."""
    return {e["tcn"] for e in check["evidence"] if e["channel"] == "cjis"}


def test_html_is_one_offline_file_with_verdict_matrix_and_timelines(report: dict[str, Any]) -> None:
    html = render(report, "html")
    assert "id='verdict'" in html
    assert "id='matrix'" in html
    assert html.count("<svg") == sum(len(_submitted(c)) for c in report["checks"])
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    assert "<script src" not in html
    assert "<link" not in html


def test_timelines_show_every_transaction_without_none_or_colliding_labels(
    report: dict[str, Any],
) -> None:
    html = render(report, "html")
    most = max(len(_submitted(c)) for c in report["checks"])
    assert most > 3
    assert f"<summary>{most - 3} more transactions</summary>" in html
    assert ">None<" not in html
    assert "24 h</text>" in html
    for svg in re.findall(r"<svg.*?</svg>", html):
        spans: dict[str, list[tuple[float, float]]] = {}
        for x, y, text in re.findall(
            r'<text x="([\d.]+)" y="([\d.]+)" font-size="10">([^<]*)<', svg
        ):
            start = float(x)
            row = spans.setdefault(y, [])
            assert all(start >= end or start + len(text) * 6.2 <= begin for begin, end in row)
            row.append((start, start + len(text) * 6.2))


def test_a_finding_is_the_reason_and_its_evidence_is_highlighted(report: dict[str, Any]) -> None:
    checks = report["checks"]
    index, check_ = next((i, c) for i, c in enumerate(checks) if len(c["evidence"]) >= 3)
    shown = check_["evidence"][1]["id"]
    found = classify(
        Finding("expected the IDR/IAR at LEA NC0140000 once; it arrived twice", evidence=[shown]),
        when="call",
        sut_url=report["sut"]["url"],
    )
    broken = copy.deepcopy(report)
    broken["checks"][index].update(outcome=found.outcome, message=found.reason,
                                   highlight=list(found.evidence))  # fmt: skip
    html = render_html(broken)
    assert "expected the IDR/IAR at LEA NC0140000 once; it arrived twice" in html
    assert html.count("<tr class='defect'>") == 1
    row = html.split("<tr class='defect'>")[1].split("</tr>")[0]
    assert check_["evidence"][1]["virtual_time"] in row


def test_render_validates_first_and_html_escapes_everything(report: dict[str, Any]) -> None:
    crafted = copy.deepcopy(report)
    crafted["requirements"][0]["id"] = "<img src=x onerror=alert(1)>"
    with pytest.raises(schemas.SchemaViolation, match=r"\$\.requirements\[0\]\.id"):
        render(crafted, "html")
    hostile = copy.deepcopy(report)
    hostile["checks"][0].update(outcome="failed", message="<script>alert(1)</script>")
    hostile["sut"]["name"] = "<b>SIB</b>"
    html = render(hostile, "html")
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>SIB</b>" not in html


def test_report_render_refuses_an_invalid_report(report: dict[str, Any], tmp_path: Path) -> None:
    crafted = copy.deepcopy(report)
    crafted["requirements"][0]["id"] = "<img src=x onerror=alert(1)>"
    path = tmp_path / "report.json"
    path.write_text(json.dumps(crafted))
    out = tmp_path / "report.html"
    import io

    text = io.StringIO()
    assert main(["report", "render", str(path), "--out", str(out)], out=text) == 1
    assert text.getvalue() == (
        f"interop report: {path} is not a valid report, not rendered: $.requirements[0].id: "
        "'<img src=x onerror=alert(1)>' does not match '^[A-Z]{3}-[0-9]{1,2}$' (rule: pattern)\n"
    )
    assert not out.exists()


def test_signed_report_verifies_and_a_one_byte_edit_does_not(
    report: dict[str, Any], tmp_path: Path
) -> None:
    verify(report)
    text = json.dumps(report, indent=2)
    path = tmp_path / "report.json"
    path.write_text(text)
    assert main(["report", "verify", str(path)]) == 0
    at = text.index('"name": "reference"') + len('"name": "')
    edited = text[:at] + "R" + text[at + 1 :]
    assert len(edited) == len(text)
    path.write_text(edited)
    assert main(["report", "verify", str(path)]) == 1
    with pytest.raises(SignatureError, match="the report was changed"):
        verify(json.loads(edited))


def test_the_signature_covers_the_throwaway_flag(report: dict[str, Any]) -> None:
    flipped = copy.deepcopy(report)
    flipped["signature"]["throwaway"] = not report["signature"]["throwaway"]
    with pytest.raises(SignatureError, match="the report was changed"):
        verify(flipped)


def test_verify_takes_the_key_in_either_case(report: dict[str, Any], tmp_path: Path) -> None:
    upper = report["signature"]["public_key"].upper()
    verify(report, public_key=upper)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    assert main(["report", "verify", str(path), "--public-key", upper]) == 0


def test_verify_refuses_unsigned_other_schemas_and_other_keys(report: dict[str, Any]) -> None:
    unsigned = {k: v for k, v in report.items() if k != "signature"}
    with pytest.raises(SignatureError, match="not signed"):
        verify(unsigned)
    other = {**report, "schemas_digest": "0" * 64}
    with pytest.raises(SignatureError, match="other schemas"):
        verify(other)
    with pytest.raises(SignatureError, match="another key"):
        verify(report, public_key="00" * 32)


def test_a_configured_key_signs_and_is_not_throwaway(
    report: dict[str, Any], tmp_path: Path
) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = tmp_path / "key.pem"
    path.write_bytes(pem)
    loaded, throwaway = load_or_create_key(path)
    assert not throwaway
    signed = sign(report, loaded, throwaway=False)
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    verify(signed, public_key=public.hex())
    assert signed["signature"]["throwaway"] is False


def test_a_key_that_is_not_one_says_so(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text("not a key")
    with pytest.raises(SignatureError, match=r"is not an unencrypted PEM private key"):
        load_or_create_key(path)


def test_render_from_the_json_alone_matches_what_the_run_wrote(
    run_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(run_dir, folder)
    signed, throwaway = publish(folder)
    assert throwaway
    for fmt, (name, _) in FORMATS.items():
        again = tmp_path / f"again-{name}"
        assert main(["report", "render", str(folder / "report.json"), "--format", fmt,
                     "--out", str(again)]) == 0  # fmt: skip
        assert again.read_text() == (folder / name).read_text()
    written = write_all(signed, tmp_path / "written")
    assert set(written) == {"json", *FORMATS}


def test_relaxed_budgets_are_never_conformant(
    results: dict[str, Any], report: dict[str, Any]
) -> None:
    assert report["budgets"]["factor"] == 0.1
    relaxed = build_report({**results, "budget_factor": 2.0, "run_seed": 7}, requirements())
    assert (relaxed["verdict"], relaxed["budgets"]) == (
        "incomplete",
        {"factor": 2.0, "run_seed": 7, "random_order": False},
    )
    assert "the time budgets were relaxed (x2)" in verdict_line(relaxed)
    assert "time budgets x2 of the catalog" in render_html(relaxed)


def _tampered(report: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(report)
    changed["sut"]["name"] = "someone else's SIB"
    return changed


def test_render_refuses_a_report_whose_signature_does_not_verify(
    report: dict[str, Any], tmp_path: Path
) -> None:
    import io

    path = tmp_path / "report.json"
    path.write_text(json.dumps(_tampered(report)))
    out = tmp_path / "report.html"
    text = io.StringIO()
    assert main(["report", "render", str(path), "--out", str(out)], out=text) == 1
    assert text.getvalue() == (
        f"interop report: {path}: the signature does not verify (the signature does not match: "
        "the report was changed); not rendered (--force renders it under a warning that says "
        "so)\n"
    )
    assert not out.exists()


def test_forced_render_of_a_tampered_report_says_so_first(
    report: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(_tampered(report)))
    page, summary = tmp_path / "report.html", tmp_path / "summary.md"
    assert main(["report", "render", str(path), "--force", "--out", str(page)]) == 0
    assert main(["report", "render", str(path), "--force", "--format", "md",
                 "--out", str(summary)]) == 0  # fmt: skip
    html = page.read_text()
    body = html.split("<body>", 1)[1]
    assert body.startswith("<div class='unverified' id='unverified' role='alert'>SIGNATURE DOES")
    assert "the report was changed" in body.split("</div>", 1)[0]
    assert "public key" not in html.split("id='facts'", 1)[1].split("</section>", 1)[0]
    lines = summary.read_text().splitlines()
    assert lines[2].startswith("> **🛑 Signature does not verify**: the signature does not match")
    assert "Signed (Ed25519" not in summary.read_text()
    signed = render(report, "html")
    assert "id='unverified'" not in signed
    assert "Signature does not verify" not in render(report, "md")


def test_the_runs_facts_and_the_throwaway_key_come_before_the_first_timeline(
    report: dict[str, Any],
) -> None:
    html = render(report, "html")
    first_timeline = html.index("<svg")
    at = html.index("id='facts'")
    facts = unescape(html[at : html.index("</section>", at)])
    assert html.index("id='facts'") < html.index("id='matrix'") < first_timeline
    budgets = report["budgets"]
    for fact in (
        report["run_id"],
        f"time budgets x{budgets['factor']:g} of the catalog's · run seed {budgets['run_seed']}",
        f"{report['started']['wall']} → {report['finished']['wall']}",
        f"{report['started']['virtual']} → {report['finished']['virtual']}",
        f"{report['clock']['mode']} (scale {report['clock']['scale']:g})",
        report["signature"]["public_key"],
        "Signed with a throwaway key",
    ):
        assert fact in facts, fact
    assert "throwaway" not in html[first_timeline:]


def test_timelines_mark_only_the_events_that_broke_the_rule(report: dict[str, Any]) -> None:
    from reports.timeline import transactions

    assert 'class="event defect"' not in render(report, "html")
    name, entries = next(
        (check_["name"], entries)
        for check_, found in transactions(report)
        for _, entries in found
        if len({e["virtual_time"] for e in entries}) >= 3
    )
    culprit = entries[-1]
    broken = copy.deepcopy(report)
    (check_,) = [c for c in broken["checks"] if c["name"] == name]
    check_.update(outcome="failed", message="it arrived twice", highlight=[culprit["id"]])
    html = render_html(broken)
    marked = re.findall(r'<circle [^>]*class="event defect"[^>]*>.*?</circle>', html)
    assert len(marked) == 1
    assert f"<title>{culprit['tot']} " in marked[0]
    assert "broke the rule" in marked[0]
    assert html.count('class="event"') >= len({e["virtual_time"] for e in entries}) - 1
    assert html.count('fill="#b3261e"') == 1


def test_timelines_draw_the_nlets_leg_of_a_transaction() -> None:
    from reports.timeline import timeline_svg, transactions

    def entry(id: str, channel: str, tot: str, tcn: str, tcr: str | None, at: str) -> Any:
        return {"id": id, "channel": channel, "direction": "out", "tot": tot, "tcn": tcn,
                "tcr": tcr, "ori": "NC0110000", "virtual_time": f"2026-11-23T{at}Z"}  # fmt: skip

    tcn, mid, iar = "NC0000000-R-00000001", "NC0110000-NQ-000001", "VTLESC000-NR-0001"
    evidence = [
        entry("1", "cjis", "CAR", tcn, None, "09:00:00"),
        entry("2", "sib", "IDR", "IDR-1", tcn, "09:15:00"),
        entry("3", "lea:NC0110000", "IDR", "IDR-1", tcn, "09:15:01"),
        entry("4", "nlets", "NLETS-IAQ", mid, tcn, "09:20:00"),
        entry("5", "nlets-iar", "NLETS-IAR", iar, mid, "09:50:00"),
        entry("6", "lea:NC0110000", "NLETS-IAR", iar, mid, "09:50:01"),
        entry("7", "nlets", "NLETS-IAQ", "NC0120000-NQ-000009", None, "09:20:00"),
    ]
    ((_, found),) = transactions({"checks": [{"name": "c", "outcome": "passed",
                                             "evidence": evidence}]})  # fmt: skip
    ((about, entries),) = found
    assert about == tcn
    assert [e["id"] for e in entries] == ["1", "2", "3", "4", "5", "6"]
    svg = timeline_svg(entries)
    assert ">NLETS</text>" in svg
    assert "NLETS-IAQ" in svg
    assert "NLETS-IAR" in svg
