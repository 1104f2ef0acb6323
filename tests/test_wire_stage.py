"""Our SIB on the EBTS wire: an encoded booking in, its CAR and responses by e-mail, the routed
responses to the LEA as encoded files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import httpx
import pytest

import schemas
from conformance.run import DEMO_PROFILES, stage
from interop import main
from synthetic import Synthesizer
from tests.test_wire_switch import nistitl_reads
from wire import MEDIA_TYPE
from wire.codec import encode


def test_a_booking_travels_on_the_ebts_wire_all_the_way(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    with stage("nff", wire="ebts-smtp", evidence=evidence) as profile:
        assert schemas.problems("sut-profile", profile) == []
        assert profile["wire"]["submissions"] == "ebts-smtp"
        mocks = profile["lea_inbox_base"].removesuffix("/lea")
        ori = profile["activated_oris"][0]
        booking = Synthesizer(5).booking(ori, doa=date(2026, 11, 20))
        headers = {"content-type": MEDIA_TYPE}
        with httpx.Client(timeout=30) as client:
            cut = encode(booking, "booking")[:-30]
            refused = client.post(f"{profile['sut_url']}/bookings", content=cut, headers=headers)
            assert refused.status_code == 400
            assert refused.json()["errors"][0]["path"].startswith("$.records[")
            data = encode(booking, "booking")
            taken = client.post(f"{profile['sut_url']}/bookings", content=data, headers=headers)
            assert taken.status_code == 202, taken.text
            tcn = taken.json()["tcn"]
            advanced = client.post(f"{mocks}/admin/clock/advance", json={"seconds": 5 * 3600})
            assert advanced.status_code == 200
            entries = client.get(f"{mocks}/admin/ledger", params={"tcn": tcn}).json()["entries"]
    submitted = [e for e in entries if e["channel"] == "cjis"]
    assert [e["message"]["type2"]["nam"] for e in submitted] == [booking["person"]["nam"]]
    delivered = [e["delivery"] for e in entries if e["channel"] == "sib"]
    assert delivered
    assert {d["state"] for d in delivered} == {"delivered"}
    address = f"mailto:{profile['wire']['sib_address']}"
    assert all(d["target"].startswith(address) for d in delivered)
    routed = [e["tot"] for e in entries if e["channel"] == f"lea:{ori}"]
    assert routed[:1] == ["SRE"]
    _check_evidence(evidence, tcn)


def _check_evidence(folder: Path, tcn: str | None = None) -> None:
    """Each EBTS file the stage kept is one `nistitl` reads, named by its TOT and TCN, and
    listed in the index with its TCR and direction."""
    files = sorted(folder.glob("*.eft"))
    assert files
    index = (folder / "index.md").read_text()
    for path in files:
        parsed = nistitl_reads(path.read_bytes())
        _, tot, rest = path.stem.split("-", 2)
        assert (parsed.TOT, parsed[0].TCN.replace(" ", "_")) == (tot, rest)
        assert f"| [{path.name}]({path.name}) | {tot} |" in index
    if tcn is not None:
        car = [p for p in files if p.stem.endswith(f"-CAR-{tcn}")]
        assert len(car) == 1
        rows = [line for line in index.splitlines() if f"| {tcn} |" in line]
        assert any("SIB → CJIS (e-mail)" in row and "| CAR |" in row for row in rows)
        answers = [line for line in index.splitlines() if "CJIS → SIB (e-mail)" in line]
        assert any(f"| {tcn} | CJIS → SIB" in row and "| SRE |" in row for row in answers)
        assert any("LEA → SIB" in row and "| BKG |" in row for row in index.splitlines())


def test_the_demo_on_the_email_wire_is_conformant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reference SIB passes every check that applies on the e-mail wire, as on JSON: the
    checks of retries, refusals, bad deliveries, restarts, duplicates and order included."""
    code = main(["demo", "--wire", "ebts-smtp", "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[-1].startswith("demo: ")
    assert out.splitlines()[-1].endswith(": conformant")
    status = {}
    for name in DEMO_PROFILES:
        report = json.loads((tmp_path / name / "report.json").read_text())
        assert report["verdict"] == "conformant", name
        assert report["sut"]["profile"]["wire"]["deliveries"] == "ebts-smtp"
        status[name] = {r["id"]: r["status"] for r in report["requirements"]}
        _check_evidence(tmp_path / name / "evidence")
        assert f"EBTS files on the wire: {tmp_path / name / 'evidence' / 'index.md'}" in out
    wired = ("ROB-1", "ROB-2", "ROB-3", "ROB-5", "TIM-3", "TIM-4")
    assert {rid: status["nff"][rid] for rid in wired} == dict.fromkeys(wired, "passed")
    # what does not apply is what the profile rules out, nothing the wire does
    assert sorted(r for r, s in status["nff"].items() if s == "not-applicable") == [
        "NFF-2",
        "RTE-4",
    ]
