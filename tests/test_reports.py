"""Reports: built from a run's results, signed, rendered deterministically, verified."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import schemas
from conformance.catalog import requirements
from conformance.cli import main
from conformance.run import check, publish, stage
from reports.files import FORMATS, render, write_all
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
def report(run_dir: Path) -> dict[str, Any]:
    document = json.loads((run_dir / "results.json").read_text())
    key, _ = load_or_create_key(None)
    return sign(build_report(document, requirements(), sut_name="reference"), key, throwaway=True)


def _failing(report: dict[str, Any]) -> dict[str, Any]:
    broken = copy.deepcopy(report)
    broken.pop("signature")
    broken["checks"][0]["outcome"] = "failed"
    broken["checks"][0]["message"] = "AssertionError: the CPI must carry the FBI number"
    broken["totals"]["passed"] -= 1
    broken["totals"]["failed"] += 1
    name = broken["checks"][0]["requirement"]
    for r in broken["requirements"]:
        if r["id"] == name:
            r["status"] = "failed"
    broken["verdict"] = "not-conformant"
    return broken


def test_report_validates_and_says_conformant(report: dict[str, Any]) -> None:
    assert schemas.problems("report", report) == []
    assert report["verdict"] == "conformant"
    applicable = sum(1 for c in report["checks"] if c["outcome"] != "not-applicable")
    assert applicable >= 25
    assert report["totals"] == {
        "passed": applicable,
        "failed": 0,
        "error": 0,
        "not-applicable": len(report["checks"]) - applicable,
    }
    assert report["schemas_digest"] == schemas.digest()
    assert report["clock"] == {"mode": "manual", "scale": 1.0}
    assert report["finished"]["virtual"] > report["started"]["virtual"]
    evidence = {e["channel"] for c in report["checks"] for e in c["evidence"]}
    assert {"cjis", "sib", "ident", "lesc", "dro"} <= evidence
    assert any(channel.startswith("lea:") for channel in evidence)


def test_a_failed_must_makes_the_verdict_not_conformant(report: dict[str, Any]) -> None:
    document = {
        "results": [{**r, "check": r["name"]} for r in _failing(report)["checks"]],
        "sut_url": report["sut"]["url"],
        "profile": report["sut"]["profile"],
        "clock": report["clock"],
        "started": report["started"],
        "finished": report["finished"],
    }
    rebuilt = build_report(document, requirements())
    assert rebuilt["verdict"] == "not-conformant"
    assert rebuilt["totals"]["failed"] == 1


def test_junit_parses_and_its_counts_match(report: dict[str, Any]) -> None:
    for document in (report, _failing(report)):
        root = ET.fromstring(render(document, "junit").encode())
        suite = root.find("testsuite")
        assert suite is not None
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases) == len(document["checks"])
        assert int(suite.get("failures", "-1")) == len(suite.findall("testcase/failure"))
        assert int(suite.get("failures", "-1")) == document["totals"]["failed"]
        assert int(suite.get("skipped", "-1")) == document["totals"]["not-applicable"]
        for case in cases:
            prop = case.find("properties/property[@name='requirement']")
            assert prop is not None
            assert case.get("classname") == f"requirement.{prop.get('value')}"


def test_markdown_lists_every_requirement_and_the_failures(report: dict[str, Any]) -> None:
    text = render(_failing(report), "md")
    assert text.startswith("# Conformance report: NOT CONFORMANT")
    for requirement in report["requirements"]:
        assert f"| {requirement['id']} |" in text
    assert "## Failures" in text
    assert "the CPI must carry the FBI number" in text


def test_rendering_is_deterministic(report: dict[str, Any]) -> None:
    for fmt in FORMATS:
        assert render(report, fmt) == render(copy.deepcopy(report), fmt)


def test_html_is_one_offline_file_with_verdict_matrix_and_timelines(report: dict[str, Any]) -> None:
    html = render(report, "html")
    assert "id='verdict'" in html
    assert "id='matrix'" in html
    assert html.count("<svg") >= 5
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    assert "<script src" not in html
    assert "<link" not in html


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


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="needs Debian's chromium; .ci/run installs it, and under CI the check always runs",
)
def test_html_report_in_headless_chromium_shows_verdict_matrix_and_timeline(
    report: dict[str, Any], tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render(report, "html"))
    assert CHROMIUM is not None
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    dom = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "CONFORMANT" in dom.stdout
    assert 'id="matrix"' in dom.stdout
    assert "<svg" in dom.stdout
    shot = tmp_path / "report.png"
    subprocess.run(
        [CHROMIUM, *flags, "--window-size=1200,1400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000
