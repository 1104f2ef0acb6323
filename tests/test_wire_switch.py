"""An unmodified state switch connects: files written by an independent ANSI/NIST-ITL codec
(`nistitl`) the way a real switch writes them are taken over HTTP and by e-mail, and what comes
back is EBTS that codec reads, addressed to the submitting ORI."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import shutil
import smtplib
import struct
import subprocess
import sys
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import nistitl  # type: ignore[import-untyped]
import pytest

import schemas
from mocks.servers.server import free_port
from mocks.servers.smtp import start_smtp
from mocks.transport.mailsecurity import MailSecurity, self_signed_context
from synthetic import Synthesizer
from tests.conftest import MockApi, RecordingSib, booking_car
from tests.test_wire_transports import SIB_ADDRESS, Mailbox, _advance, _match, exchange, mailbox
from wire import MEDIA_TYPE, image
from wire.ansi_nist import parse_records, read_records
from wire.codec import decode, encode, read
from wire.layout import by_tot, layout, tags
from wire.mail import message_for

pytestmark = pytest.mark.anyio
__all__ = ["mailbox"]  # the fixture, imported for the e-mail tests

_SCALARS = {"nam": 18, "pob": 20, "dob": 22, "sex": 24, "rac": 25, "hgt": 27, "wgt": 29}
_SCALARS |= {"eye": 31, "hai": 32, "doa": 45, "sid": 15, "fbi": 14}


def _type1(msg: Any, header: dict[str, Any]) -> None:
    msg.TOT = header["tot"]
    head = msg[0]
    head.DAT, head.DAI, head.ORI, head.TCN = (header[k] for k in ("dat", "dai", "ori", "tcn"))
    head.PRY = str(header["pry"])
    head.GMT = re.sub(r"[-:T]", "", header["gmt"])


def _wsq_type4(msg: Any, key: str, count: int) -> list[bytes]:
    """Binary Type-4 records (IMP 1 rolled, FGP, ISR 0, HLL, VLL, GCA 1 WSQ), as a switch sends."""
    datas = []
    for idc, position in enumerate(image.finger_positions(count), start=1):
        made = image.impression(key, position)
        assert made.wsq
        record = nistitl.BinaryRecord(4)
        record.IDC = idc
        fgp = (position, 255, 255, 255, 255, 255)
        record.pack("!B6BBHHB", 1, *fgp, 0, made.width, made.height, 1, made.data)
        msg += record
        datas.append(made.data)
    return datas


def switch_car(car: dict[str, Any], *, latin: str | None = None) -> bytes:
    """`car` as a real switch writes it with `nistitl`: ASL with DOO and AOL only (no NCIC
    code), the prints as binary Type-4 WSQ records; `latin`: the name, in Latin-1 with 1.015 DCS."""
    msg = nistitl.Message()
    _type1(msg, car["type1"])
    type2 = dict(car["type2"])
    if latin is not None:
        type2["nam"] = latin
        dcs = nistitl.Field(1, 15)
        dcs.add_subfields(nistitl.SubField(["1", "ISO-8859-1"]))
        head = msg[0]
        head += dcs
    record = nistitl.AsciiRecord(2)
    record.IDC = 0
    for key, number in _SCALARS.items():
        if key in type2:
            record += nistitl.Field(2, number, type2[key])
    asl = nistitl.Field(2, 47)
    asl.add_subfields(*[nistitl.SubField([c["doo"], c["aol"]]) for c in type2["asl"]])
    cri = nistitl.Field(2, 73)
    cri.add_subfields(*[nistitl.SubField(ori) for ori in type2["cri"]])
    record += asl
    record += cri
    msg += record
    _wsq_type4(msg, car["prints"]["biometric_key"], car["prints"]["impressions"])
    data: bytes = msg.NIST
    return data


def as_switch_sees(car: dict[str, Any]) -> dict[str, Any]:
    """`car` as it reads back from a switch's file: the charges without the harness's items."""
    type2 = dict(car["type2"])
    type2["asl"] = [{"doo": c["doo"], "aol": c["aol"]} for c in type2["asl"]]
    type2.pop("aka", None)
    return {**car, "type2": type2}


def nistitl_reads(data: bytes) -> Any:
    """The message `nistitl` parses from `data` (it raises on anything it cannot read)."""
    msg = nistitl.Message()
    msg.parse(data)
    return msg


def _check_response(document: dict[str, Any], car: dict[str, Any]) -> None:
    """A response is EBTS nistitl reads, answering the CAR and addressed to its ORI."""
    parsed = nistitl_reads(encode(document))
    assert document["type1"]["tot"] == parsed.TOT
    assert parsed[0].DAI == car["type1"]["ori"] == document["type1"]["dai"]
    assert car["type1"]["tcn"] == parsed[0].TCR


def test_nistitl_reads_our_type4_and_we_read_its_type4() -> None:
    car = booking_car(Synthesizer(7), key="SYN-00000000000000C4")
    ours = encode(car, image_type=4)
    parsed = nistitl_reads(ours)
    fours = [r for r in parsed if r.type == 4]
    assert len(fours) == car["prints"]["impressions"]
    imp, *_, gca, rest = fours[0].unpack("!B6BBHHB")
    assert (imp, gca) == (1, 1)
    assert rest.startswith(b"\xff\xa0")
    assert decode(ours) == ("car", car)
    theirs = switch_car(car)
    kind, document = decode(theirs)
    assert (kind, document) == ("car", as_switch_sees(car))
    assert schemas.problems("car", document) == []
    assert [r.type for r in parse_records(theirs)[1:]] == [2] + [4] * 14


def test_impressions_are_real_wsq_carrying_their_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    made = image.impression("SYN-0123456789ABCDEF", 3)
    assert made.wsq
    with Image.open(io.BytesIO(made.data)) as picture:  # a WSQ decoder reads it, comment and all
        assert (picture.format, picture.size) == ("WSQ", (made.width, made.height))
    assert image.key_of([made.data]) == "SYN-0123456789ABCDEF"
    monkeypatch.setattr(image, "_wsq", lambda position: None)  # without the wsq package
    raw = image.impression("SYN-0123456789ABCDEF", 3)
    assert (raw.wsq, raw.width, len(raw.data)) == (False, image.RAW_SIDE, image.RAW_SIDE**2)
    assert image.key_of([raw.data]) == "SYN-0123456789ABCDEF"


def test_another_binary_record_is_refused_by_name() -> None:
    car = booking_car(Synthesizer(8))
    msg = nistitl.Message()
    msg.parse(switch_car(car))
    record = nistitl.BinaryRecord(7)
    record.IDC = 30
    record.value = b"\x00" * 40
    msg += record
    with pytest.raises(ValueError, match="Type-7 is not accepted in a CAR"):
        decode(msg.NIST)


async def test_a_switch_car_over_http_gets_sre_and_idr_in_ebts_addressed_to_its_ori(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api(_match(key))
    car = booking_car(synth, key=key)
    data = switch_car(car)
    assert b"\x1f" + car["type2"]["asl"][-1]["aol"].encode() + b"\x1d" in data  # DOO, AOL: no NCIC
    assert await exchange(client, sib, car, data) == as_switch_sees(car)
    for document in sib.messages():
        _check_response(document, car)


async def test_a_switch_speaking_ebts_over_http_gets_its_deliveries_as_ebts_files(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    """`wire.deliveries: ebts-http`: the callback ``ebts+http://…`` takes each message as a file."""
    key = synth.biometric_key()
    scenario = _match(key) | {"sut_callback": "ebts+http://sib.test/cjis/responses"}
    client = await mock_api(scenario)
    client.service.callback = scenario["sut_callback"]
    car = booking_car(synth, key=key)
    headers = {"content-type": MEDIA_TYPE}
    response = await client.post("/cjis/submissions", content=switch_car(car), headers=headers)
    assert response.status_code == 202, response.text
    await _advance(client, 4 * 3600)
    assert [str(r.url) for r in sib.deliveries] == ["http://sib.test/cjis/responses"] * 2
    assert {r.headers["content-type"] for r in sib.deliveries} == {MEDIA_TYPE}
    parsed = [nistitl_reads(r.content) for r in sib.deliveries]
    assert [p.TOT for p in parsed] == ["SRE", "IDR"]
    assert {p[0].DAI for p in parsed} == {car["type1"]["ori"]}
    assert [decode(r.content)[1]["type1"]["tcr"] for r in sib.deliveries] == [
        car["type1"]["tcn"]
    ] * 2


async def test_a_switch_car_by_email_gets_sre_and_idr_by_email_in_ebts(
    mock_api: MockApi, synth: Synthesizer, mailbox: tuple[Mailbox, int]
) -> None:
    box, box_port = mailbox
    key = synth.biometric_key()
    client = await mock_api(_match(key))
    client.service.callback = f"mailto:{SIB_ADDRESS}?relay=127.0.0.1:{box_port}"
    car = booking_car(synth, key=key)
    replies = await _send(
        client.service,
        message_for(switch_car(car), sender=SIB_ADDRESS, to="cjis@mocks.invalid", name="car.eft"),
    )
    assert car["type1"]["tcn"] in replies
    await _advance(client, 4 * 3600)
    files = [_attached(mail) for mail in box.mails]
    kinds = [nistitl_reads(f).TOT for f in files]
    assert kinds[:2] == ["SRE", "IDR"]
    for data in files:
        parsed = nistitl_reads(data)
        assert car["type1"]["ori"] == parsed[0].DAI
        assert car["type1"]["tcn"] == parsed[0].TCR


def _attached(mail: bytes) -> bytes:
    from wire.mail import transaction_of

    found = transaction_of(mail)
    assert found is not None
    return found.data


async def _reply(service: Any, message: EmailMessage) -> tuple[int, str]:
    """Mail `message` to the mock CJIS; its reply's code and text."""
    port = free_port()
    smtp = await start_smtp(service, port=port)

    def mail() -> tuple[int, str]:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            client.mail(SIB_ADDRESS)
            client.rcpt("cjis@mocks.invalid")
            said: bytes | str
            try:
                code, said = client.data(message.as_bytes(policy=policy.SMTP))
            except smtplib.SMTPDataError as refused:
                code, said = refused.smtp_code, refused.smtp_error
            return code, said.decode() if isinstance(said, bytes) else said

    try:
        return await asyncio.to_thread(mail)
    finally:
        smtp.close()
        await smtp.wait_closed()


async def _send(service: Any, message: EmailMessage) -> str:
    """Mail `message` to the mock CJIS; the text of its 250 reply."""
    code, said = await _reply(service, message)
    assert code == 250, said
    return said


@pytest.mark.parametrize(
    "media",
    [
        "application/octet-stream",
        "APPLICATION/X-ANSI-NIST",
        "Application/X-Ansi-Nist; charset=binary",
        None,
    ],
)
async def test_http_takes_ebts_under_any_media_type_a_switch_sends(
    mock_api: MockApi, synth: Synthesizer, media: str | None
) -> None:
    client = await mock_api()
    car = booking_car(synth)
    headers = {"content-type": media} if media else {}
    request = client.build_request(
        "POST", "/cjis/submissions", content=switch_car(car), headers=headers
    )
    if media is None:
        request.headers.pop("content-type", None)
    response = await client.send(request)
    assert response.status_code == 202, response.text
    assert response.json()["tcn"] == car["type1"]["tcn"]
    json_still = await client.post("/cjis/submissions", json=booking_car(synth))
    assert json_still.status_code == 202
    assert json_still.headers["content-type"] == "application/json"


async def test_a_tcn_breaking_ebts_is_refused_with_an_errt_naming_1_009(
    mock_api: MockApi, synth: Synthesizer
) -> None:
    client = await mock_api()
    car = booking_car(synth)
    car["type1"]["tcn"] = "SHORT"
    response = await client.post(
        "/cjis/submissions", content=switch_car(car), headers={"content-type": MEDIA_TYPE}
    )
    assert (response.status_code, response.headers["content-type"]) == (400, MEDIA_TYPE)
    parsed = nistitl_reads(response.content)
    assert parsed.TOT == "ERRT"
    assert ("SHORT", car["type1"]["ori"]) == (parsed[0].TCR, parsed[0].DAI)
    kind, errt = decode(response.content)
    assert kind == "errt"
    assert [m["text"][:9] for m in errt["type2"]["msg"]] == ["1.009 TCN"]


async def test_a_tcn_breaking_ebts_by_email_is_answered_with_an_errt_mailed_back(
    mock_api: MockApi, synth: Synthesizer, mailbox: tuple[Mailbox, int]
) -> None:
    box, box_port = mailbox
    client = await mock_api()
    client.service.callback = f"mailto:{SIB_ADDRESS}?relay=127.0.0.1:{box_port}"
    car = booking_car(synth)
    car["type1"]["tcn"] = "SHORT"
    mail = message_for(switch_car(car), sender=SIB_ADDRESS, to="cjis@mocks.invalid", name="c.eft")
    code, said = await _reply(client.service, mail)
    assert code == 554
    assert "1.009 TCN 'SHORT' cannot be answered" in said
    assert f"an ERRT naming 1.009 was mailed to {SIB_ADDRESS}" in said
    [errt_file] = [_attached(m) for m in box.mails]
    parsed = nistitl_reads(errt_file)
    assert parsed.TOT == "ERRT"
    assert ("SHORT", car["type1"]["ori"]) == (parsed[0].TCR, parsed[0].DAI)
    kind, errt = decode(errt_file)
    assert kind == "errt"
    assert [m["text"][:9] for m in errt["type2"]["msg"]] == ["1.009 TCN"]
    # with nowhere to mail it, the 554 says so
    client.service.callback = None
    code, said = await _reply(client.service, mail)
    assert (code, len(box.mails)) == (554, 1)
    assert "no ERRT mailed" in said


@pytest.mark.skipif(
    shutil.which("swaks") is None,
    reason="swaks (Debian's SMTP test client) is not installed: apt-get install swaks "
    "(.ci/run installs it)",
)
async def test_swaks_delivers_a_switch_car_over_starttls_and_auth_and_gets_the_sre_by_email(
    mock_api: MockApi, synth: Synthesizer, mailbox: tuple[Mailbox, int], tmp_path: Path
) -> None:
    """A real mail client, not smtplib: swaks attaches the file a switch wrote with nistitl,
    upgrades to TLS (the self-signed certificate made at start) and logs in with AUTH PLAIN."""
    box, box_port = mailbox
    client = await mock_api()
    client.service.callback = f"mailto:{SIB_ADDRESS}?relay=127.0.0.1:{box_port}"
    car = booking_car(synth)
    eft = tmp_path / "car.eft"
    eft.write_bytes(switch_car(car))
    port = free_port()
    users = {"state-switch": "synthetic-password-1"}
    security = MailSecurity(self_signed_context("localhost"), True, users)
    smtp = await start_smtp(client.service, port=port, security=security)
    command = ["swaks", "--server", "127.0.0.1", "--port", str(port), "--from", SIB_ADDRESS]
    command += ["--to", "cjis@mocks.invalid", "--tls", "--auth", "PLAIN"]
    command += ["--auth-user", "state-switch", "--auth-password", users["state-switch"]]
    command += ["--attach-type", MEDIA_TYPE, "--attach-name", "car.eft", "--attach", f"@{eft}"]
    try:
        done = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, timeout=60, check=False
        )
    finally:
        smtp.close()
        await smtp.wait_closed()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"<~  250 2.0.0 TCN {car['type1']['tcn']} accepted" in done.stdout
    assert "<~  235 " in done.stdout  # authenticated, within TLS (swaks marks TLS lines ~)
    await _advance(client, 3600)
    files = [_attached(mail) for mail in box.mails]
    assert [nistitl_reads(f).TOT for f in files][:1] == ["SRE"]


def _wire_warnings(data: bytes) -> list[str]:
    return [w.text for w in read_records(data)[1]]


async def test_latin1_text_crlf_and_trailing_bytes_are_taken_with_warnings(
    mock_api: MockApi, synth: Synthesizer
) -> None:
    client = await mock_api()
    car = booking_car(synth)
    latin = switch_car(car, latin="MUÑOZ,JOSÉ")
    assert "MUÑOZ".encode("latin-1") in latin
    assert read(latin).document["type2"]["nam"] == "MUÑOZ,JOSÉ"
    assert _wire_warnings(latin) == [
        "1.015 DCS declares Latin-1 (ISO 8859-1): text read as Latin-1"
    ]
    no_dcs = latin.replace(b"\x1d1.015:1\x1fISO-8859-1", b"")
    assert len(no_dcs) == len(latin) - 19
    no_dcs = re.sub(rb"^1\.001:(\d+)", lambda m: b"1.001:" + str(int(m[1]) - 19).encode(), no_dcs)
    assert read(no_dcs).document["type2"]["nam"] == "MUÑOZ,JOSÉ"
    assert "not UTF-8 text (there is no 1.015 DCS): read as Latin-1" in _wire_warnings(no_dcs)[0]
    sloppy = switch_car(booking_car(synth)).replace(b"\x1c", b"\x1c\r\n", 2) + b"\n"
    warned = _wire_warnings(sloppy)
    assert len(warned) == 3
    assert all("CR/LF" in w for w in warned)
    trailing = encode(booking_car(synth)) + b"EOF MARKER"
    assert _wire_warnings(trailing) == ["10 bytes after the last record 1.003 CNT counts ignored"]
    for data in (latin, sloppy, trailing):
        response = await client.post(
            "/cjis/submissions", content=data, headers={"content-type": MEDIA_TYPE}
        )
        assert response.status_code == 202, response.text
        assert schemas.problems("api.json#/$defs/ack", response.json()) == []
        assert response.json()["warnings"], response.json()


def _short_tags(data: bytes) -> bytes:
    """`data` with its Type-1 tags written without leading zeros (``1.1:``), LEN fixed."""
    end = data.index(b"\x1c") + 1
    fields = re.sub(rb"(^|\x1d)1\.0*(\d+):", rb"\g<1>1.\2:", data[:end])
    body = fields[fields.index(b"\x1d") :]
    length = len(body)
    while len(b"1.1:" + str(length).encode() + body) != length:
        length = len(b"1.1:" + str(length).encode() + body)
    return b"1.1:" + str(length).encode() + body + data[end:]


def test_tags_without_leading_zeros_validate_and_convert(tmp_path: Path) -> None:
    car = booking_car(Synthesizer(9))
    path = tmp_path / "short.eft"
    path.write_bytes(_short_tags(encode(car)))
    assert path.read_bytes().startswith(b"1.1:")
    assert decode(path.read_bytes()) == ("car", car)
    run = [sys.executable, "-m", "interop"]
    checked = subprocess.run(
        [*run, "validate", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    converted = subprocess.run(
        [*run, "convert", str(path), "--to", "json"], capture_output=True, check=False
    )
    assert converted.returncode == 0, converted.stderr
    assert converted.stdout.startswith(b"{")


async def test_a_mail_with_two_transactions_takes_both_and_names_both(
    mock_api: MockApi, synth: Synthesizer
) -> None:
    client = await mock_api()
    first, second = booking_car(synth), booking_car(synth)
    message = message_for(
        switch_car(first), sender=SIB_ADDRESS, to="cjis@mocks.invalid", name="a.eft"
    )
    message.add_attachment(
        switch_car(second), maintype="application", subtype="x-ansi-nist", filename="b.eft"
    )
    said = await _send(client.service, message)
    assert first["type1"]["tcn"] in said
    assert second["type1"]["tcn"] in said
    for car in (first, second):
        ledger = await client.get("/admin/ledger", params={"tcn": car["type1"]["tcn"]})
        assert ledger.json()["entries"], car["type1"]["tcn"]


async def test_a_mail_with_one_unreadable_transaction_is_refused_whole(
    mock_api: MockApi, synth: Synthesizer
) -> None:
    client = await mock_api()
    good = booking_car(synth)
    message = message_for(
        switch_car(good), sender=SIB_ADDRESS, to="cjis@mocks.invalid", name="a.eft"
    )
    cut = switch_car(booking_car(synth))[:-30]
    message.add_attachment(cut, maintype="application", subtype="x-ansi-nist", filename="b.eft")
    code, said = await _reply(client.service, message)
    assert code == 554
    assert "transaction 2 of 2; the mail is refused whole" in said
    ledger = await client.get("/admin/ledger", params={"tcn": good["type1"]["tcn"]})
    assert ledger.json()["entries"] == []


async def test_a_mail_whose_body_is_the_file_is_taken(
    mock_api: MockApi, synth: Synthesizer
) -> None:
    client = await mock_api()
    car = booking_car(synth)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = SIB_ADDRESS, "cjis@mocks.invalid", "CAR"
    message.set_content(switch_car(car), maintype="application", subtype="octet-stream")
    assert not message.is_multipart()
    said = await _send(client.service, message)
    assert car["type1"]["tcn"] in said


async def test_a_car_with_palm_sized_images_is_taken_over_http(
    mock_api: MockApi, synth: Synthesizer
) -> None:
    """Over 1 MiB (a CAR with palm prints): within the one limit HTTP and SMTP share."""
    client = await mock_api()
    car = booking_car(synth)
    msg = nistitl.Message()
    msg.parse(switch_car(car))
    palm = nistitl.AsciiRecord(15)
    palm.IDC = 40
    palm += nistitl.Field(15, 3, "0")
    palm += nistitl.BinaryField(15, 999, struct.pack("!H", 1) * 600_000)
    msg += palm
    data = msg.NIST
    assert len(data) > 1_200_000
    response = await client.post(
        "/cjis/submissions", content=data, headers={"content-type": MEDIA_TYPE}
    )
    assert response.status_code == 202, response.text


def test_the_openapi_document_names_the_ebts_media_types() -> None:
    from mocks.api.openapi import openapi

    operation = openapi()["paths"]["/cjis/submissions"]["post"]
    taken = set(operation["requestBody"]["content"])
    assert {"application/json", MEDIA_TYPE, "application/octet-stream"} <= taken
    assert MEDIA_TYPE in operation["responses"]["400"]["content"]


_UNMODELLED = {
    5: "Y",
    9: "OCA-77731",
    16: "123456789",
    17: "AR-123456",
    26: "SC R ARM",
    38: "20261122",
}
"""RET, OCA, SOC, MNU, SMT and DPR: fields a switch sends that the harness does not model."""


def _with_more(car: dict[str, Any]) -> bytes:
    """`car` as a switch writes it, with fields and records the harness does not model: RET, OCA,
    SOC, MNU, SMT, DPR and AMP (an amputated finger) in its Type-2, a Type-10 photo and a
    Type-15 palm record."""
    msg = nistitl_reads(switch_car(car))
    principal = next(r for r in msg if r.type == 2)
    for number, value in _UNMODELLED.items():
        principal += nistitl.Field(2, number, value)
    amp = nistitl.Field(2, 84)
    amp.add_subfields(nistitl.SubField(["07", "XX"]))
    principal += amp
    for rtype, idc, field in ((10, 20, (3, "FACE")), (15, 21, (3, "0"))):
        record = nistitl.AsciiRecord(rtype)
        record.IDC = idc
        record += nistitl.Field(rtype, *field)
        record += nistitl.BinaryField(rtype, 999, b"synthetic image bytes")
        msg += record
    data: bytes = msg.NIST
    return data


def _kept(entries: list[dict[str, Any]]) -> dict[str, str]:
    [entry] = [e for e in entries if e["channel"] == "cjis-wire"]
    return {f["field"].split(".", 2)[-1]: f["value"] for f in entry["message"]["unmodelled"]}


async def test_what_a_switch_sends_beyond_the_model_is_kept_in_the_ledger_as_received(
    mock_api: MockApi, synth: Synthesizer
) -> None:
    """Over HTTP and by e-mail alike: RET, DPR, OCA, SOC, MNU, SMT, AMP and Type-10/15 records
    are ledgered as received beside the submission (evidence), never silently dropped."""
    client = await mock_api()
    by_http, by_mail = booking_car(synth), booking_car(synth)
    headers = {"content-type": MEDIA_TYPE}
    response = await client.post("/cjis/submissions", content=_with_more(by_http), headers=headers)
    assert response.status_code == 202, response.text
    mail = message_for(
        _with_more(by_mail), sender=SIB_ADDRESS, to="cjis@mocks.invalid", name="c.eft"
    )
    assert by_mail["type1"]["tcn"] in await _send(client.service, mail)
    digest = hashlib.sha256(b"synthetic image bytes").hexdigest()
    for car in (by_http, by_mail):
        ledger = await client.get("/admin/ledger", params={"tcn": car["type1"]["tcn"]})
        kept = _kept(ledger.json()["entries"])
        for number, value in _UNMODELLED.items():
            assert kept[f"2.{number:03d}"] == value
        assert kept["2.084"] == "07\x1fXX"
        assert kept["10.003"] == "FACE"
        assert kept["15.999"] == f"21 bytes, SHA-256 {digest}"
        assert as_switch_sees(car) in [e["message"] for e in ledger.json()["entries"]]


def _text(field: Any) -> str | bytes:
    """A field `nistitl` parsed, as our codec's field text (subfields by RS, items by US)."""
    if isinstance(field, nistitl.BinaryField):
        value: bytes = field.value
        return value
    if not field._subfields:
        return str(field.value)
    return "\x1e".join(
        "\x1f".join(sf.values) if sf.values else str(sf.value) for sf in field._subfields
    )


@pytest.mark.parametrize(
    ("kind", "example"),
    [(kind, i) for kind in sorted(by_tot().values()) for i in range(len(schemas.examples(kind)))],
)
def test_nistitl_reads_every_message_we_write_field_by_field(kind: str, example: int) -> None:
    document = schemas.examples(kind)[example]
    data = encode(document, kind)
    ours = parse_records(data)
    theirs = list(nistitl_reads(data))
    assert [r.type for r in theirs] == [r.type for r in ours]
    for mine, other in zip(ours, theirs, strict=True):
        skip = {1, 3} if mine.type == 1 else {1}  # LEN; CNT: nistitl lists it its own way
        read = {f.tag: _text(f) for f in other._fields if f.tag not in skip}
        expected = {n: v for n, v in mine.fields.items() if n not in skip}
        if mine.type != 1:
            expected[2] = str(int(str(expected[2])))  # nistitl reads the IDC as a number
        assert read == expected, (kind, mine.type)
    assert decode(data) == (kind, document)


_EBTS_TEXT = re.compile(r"[12]\.\d{3} [A-Z]{3}")


@pytest.mark.parametrize("kind", ["sre", "idr", "iar", "errt"])
def test_a_switch_reading_responses_with_nistitl_finds_ebts_values_in_ebts_fields(
    kind: str,
) -> None:
    """What a real switch reads (EBTS tags below 2.900) holds EBTS values only: the IDR's result
    in 2.059 SRF, its encounters' names at item 2 of 2.064 CAN, the ERRT's free text alone in
    2.060 MSG naming the EBTS tag; no Type-2 record names the JSON part it carries."""
    ebts = {
        f.tag[1]
        for name in by_tot().values()
        for f in tags(layout(name).parts)
        if f.tag[0] == 2 and not f.local
    }
    for document in schemas.examples(kind):
        parsed = nistitl_reads(encode(document, kind))
        type2 = [r for r in parsed._records if r.type == 2]
        assert len(type2) == (2 if "ident" in document.get("type2", {}) else 1)
        for record in type2:
            read = {f.tag: _text(f) for f in record._fields}
            assert {n for n in read if 2 < n < 900} <= ebts, (kind, sorted(read))
            if kind == "idr":
                srf = "I" if document["type2"]["result"] == "match" else "N"
                assert read[59] == srf
                names = [e["nam"] for e in document["type2"]["encounters"]]
                can = str(read.get(64, "")).split("\x1e") if names else []
                assert [c.split("\x1f")[1] for c in can] == names
            if kind == "errt":
                texts = str(read[60]).split("\x1e")
                assert texts == [m["text"] for m in document["type2"]["msg"]]
                assert all(_EBTS_TEXT.match(t) for t in texts), texts
