"""Our SIB on the e-mail wire: a booking's CAR goes by e-mail, its responses come back by e-mail."""

from __future__ import annotations

from datetime import date

import httpx

import schemas
from conformance.wire_stage import mail_stage
from protocol.synthetic import Synthesizer


def test_a_booking_travels_by_email_both_ways() -> None:
    with mail_stage("nff") as profile:
        assert schemas.problems("sut-profile", profile) == []
        assert profile["wire"]["submissions"] == "ebts-smtp"
        mocks = profile["lea_inbox_base"].removesuffix("/lea")
        ori = profile["activated_oris"][0]
        booking = Synthesizer(5).booking(ori, doa=date(2026, 11, 20))
        with httpx.Client(timeout=30) as client:
            taken = client.post(f"{profile['sut_url']}/bookings", json=booking)
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
