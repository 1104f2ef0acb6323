"""Our SIB on the EBTS wire: an encoded booking in, its CAR and responses by e-mail, the routed
responses to the LEA as encoded files."""

from __future__ import annotations

from datetime import date

import httpx

import schemas
from conformance.wire_stage import mail_stage
from synthetic import Synthesizer
from wire import MEDIA_TYPE
from wire.codec import encode


def test_a_booking_travels_on_the_ebts_wire_all_the_way() -> None:
    with mail_stage("nff") as profile:
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
