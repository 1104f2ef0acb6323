"""Our SIB on the EBTS wire: an encoded booking in, its CAR and responses by e-mail, the routed
responses to the LEA as encoded files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import httpx
import pytest

import schemas
from conformance.cli import main
from conformance.run import DEMO_PROFILES, stage
from synthetic import Synthesizer
from wire import MEDIA_TYPE
from wire.codec import encode


def test_a_booking_travels_on_the_ebts_wire_all_the_way() -> None:
    with stage("nff", wire="ebts-smtp") as profile:
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
    wired = ("ROB-1", "ROB-2", "ROB-3", "ROB-5", "TIM-3", "TIM-4")
    assert {rid: status["nff"][rid] for rid in wired} == dict.fromkeys(wired, "passed")
    # what does not apply is what the profile rules out, nothing the wire does
    assert sorted(r for r, s in status["nff"].items() if s == "not-applicable") == [
        "NFF-2",
        "RTE-4",
    ]
