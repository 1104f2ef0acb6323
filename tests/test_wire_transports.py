"""The mock CJIS takes EBTS transactions over HTTP and by e-mail, and answers the same way."""

from __future__ import annotations

import asyncio
import json
import smtplib
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

import schemas
from mocks.delivery.mailer import parse_mailto, send_delivery
from mocks.servers.server import free_port
from mocks.servers.smtp import start_smtp
from synthetic import Synthesizer
from tests.conftest import MockApi, RecordingSib, booking_car
from wire import MEDIA_TYPE
from wire.ansi_nist import WireError
from wire.codec import decode, encode
from wire.mail import message_for, transaction_of

pytestmark = pytest.mark.anyio

SIB_ADDRESS = "sib@state.interop-harness.invalid"


def _match(key: str, *faults: dict[str, Any]) -> dict[str, Any]:
    override = {"when": {"biometric_key": key}, "outcome": {"ident": "match"}, "faults": [*faults]}
    return {"overrides": [override]}


async def _advance(client: httpx.AsyncClient, seconds: float) -> None:
    response = await client.post("/admin/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text


class Mailbox:
    """The SIB's mail server: keeps every e-mail it is sent."""

    def __init__(self) -> None:
        self.mails: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.mails.append(content if isinstance(content, bytes) else content.encode())
        return "250 OK"

    def messages(self) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for mail in self.mails:
            attachment = transaction_of(mail)
            assert attachment is not None
            found.append(decode(attachment.data))
        return found


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(box), "127.0.0.1", port)
    yield box, port
    server.close()
    await server.wait_closed()


def _mail(data: bytes, port: int, **options: Any) -> dict[str, tuple[int, bytes]]:
    message = options.pop("message", None) or message_for(
        data, sender=SIB_ADDRESS, to="cjis@mocks.invalid", name="car.eft"
    )
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.send_message(message)


async def test_http_takes_an_encoded_car_and_answers_as_for_json(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer
) -> None:
    key = synth.biometric_key()
    client = await mock_api(_match(key))
    car = booking_car(synth, key=key)
    assert await exchange(client, sib, car, encode(car)) == car


async def exchange(
    client: httpx.AsyncClient, sib: RecordingSib, car: dict[str, Any], data: bytes
) -> dict[str, Any]:
    """Submit the encoded `car` over HTTP (again as JSON: a duplicate), let four hours pass: the
    SIB got the SRE and the IDR/IAR. The submission as the ledger keeps it."""
    headers = {"content-type": MEDIA_TYPE}
    response = await client.post("/cjis/submissions", content=data, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["tcn"] == car["type1"]["tcn"]
    again = await client.post("/cjis/submissions", json=car)
    assert again.json()["status"] == "duplicate"
    await _advance(client, 4 * 3600)
    assert sib.kinds() == ["SRE", "IDR/IAR"]
    ledger = await client.get("/admin/ledger", params={"tcn": car["type1"]["tcn"]})
    [entry] = [e for e in ledger.json()["entries"] if e["channel"] == "cjis"]
    message: dict[str, Any] = entry["message"]
    return message


async def test_http_names_record_and_field_of_a_bad_file(
    mock_api: MockApi, synth: Synthesizer
) -> None:
    client = await mock_api()
    car = booking_car(synth)
    data = encode(car)
    headers = {"content-type": MEDIA_TYPE, "accept": "application/problem+json"}
    response = await client.post("/cjis/submissions", content=data[:-50], headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["path"].startswith("$.records[")
    assert error["rule"] == "H0001"
    assert schemas.problems("api.json#/$defs/problem", response.json()) == []
    # a client that sent EBTS and takes it back gets an ERRT naming the same record and field
    answer = await client.post(
        "/cjis/submissions", content=data[:-50], headers=headers | {"accept": "*/*"}
    )
    assert (answer.status_code, answer.headers["content-type"]) == (400, MEDIA_TYPE)
    kind, errt = decode(answer.content)
    assert kind == "errt"
    assert (errt["type1"]["tcr"], errt["type1"]["dai"]) == (
        car["type1"]["tcn"],
        car["type1"]["ori"],
    )
    assert [(m["code"], m["field"]) for m in errt["type2"]["msg"]] == [("H0001", error["path"])]


async def test_email_in_email_out(
    mock_api: MockApi, synth: Synthesizer, mailbox: tuple[Mailbox, int]
) -> None:
    box, box_port = mailbox
    key = synth.biometric_key()
    client = await mock_api(_match(key))
    service = client.service
    service.callback = f"mailto:{SIB_ADDRESS}?relay=127.0.0.1:{box_port}"
    port = free_port()
    smtp = await start_smtp(service, port=port)
    try:
        car = booking_car(synth, key=key)
        refused = await asyncio.to_thread(_mail, encode(car), port)
        assert refused == {}
        await _advance(client, 4 * 3600)
    finally:
        smtp.close()
        await smtp.wait_closed()
    got = box.messages()
    assert [kind for kind, _ in got] == ["sre", "idr"]
    for kind, document in got:
        assert schemas.problems(kind, document) == []
        assert document["type1"]["tcr"] == car["type1"]["tcn"]
    assert "iar" in got[1][1]["type2"]


async def test_the_first_email_sets_the_reply_address(
    mock_api: MockApi, synth: Synthesizer, mailbox: tuple[Mailbox, int]
) -> None:
    box, box_port = mailbox
    client = await mock_api()
    service = client.service
    service.callback = None
    port = free_port()
    smtp = await start_smtp(service, port=port, reply_relay=f"127.0.0.1:{box_port}")
    try:
        await asyncio.to_thread(_mail, encode(booking_car(synth)), port)
        await _advance(client, 3600)
    finally:
        smtp.close()
        await smtp.wait_closed()
    assert service.callback == f"mailto:{SIB_ADDRESS}?relay=127.0.0.1:{box_port}"
    assert [kind for kind, _ in box.messages()][:1] == ["sre"]


async def test_a_scenario_sends_deliveries_by_email_and_a_malformed_one_unreadable(
    mock_api: MockApi, sib: RecordingSib, synth: Synthesizer, mailbox: tuple[Mailbox, int]
) -> None:
    box, box_port = mailbox
    key = synth.biometric_key()
    client = await mock_api()
    scenario = {**_match(key, {"kind": "malformed-delivery"}), "name": "by-mail"}
    scenario["sut_callback"] = f"mailto:{SIB_ADDRESS}?relay=127.0.0.1:{box_port}"
    answer = await client.post("/admin/scenario", json=scenario)
    assert answer.status_code == 200, answer.text
    car = booking_car(synth, key=key)
    assert (await client.post("/cjis/submissions", json=car)).status_code == 202
    await _advance(client, 4 * 3600)
    assert sib.deliveries == []
    attached = [transaction_of(mail) for mail in box.mails]
    assert all(a is not None for a in attached)
    assert len(attached) == 3
    # the body that is not JSON goes as the unreadable EBTS file it stands for on this wire
    assert attached[0] is not None
    assert attached[0].headers["subject"].endswith(".eft")
    with pytest.raises(WireError):
        decode(attached[0].data)
    assert [decode(a.data)[0] for a in attached[1:] if a is not None] == ["sre", "idr"]
    # the next scenario names the SIB's HTTP callback: deliveries go there again
    scenario["sut_callback"] = "http://sib.test/cjis/responses"
    assert (await client.post("/admin/scenario", json=scenario)).status_code == 200
    assert (await client.post("/cjis/submissions", json=booking_car(synth))).status_code == 202
    await _advance(client, 3600)
    assert sib.kinds()[:1] == ["SRE"]
    assert len(box.mails) == 3


async def _refusal(service: Any, **options: Any) -> smtplib.SMTPDataError:
    port = free_port()
    smtp = await start_smtp(service, port=port)
    try:
        with pytest.raises(smtplib.SMTPDataError) as caught:
            await asyncio.to_thread(_mail, b"", port, **options)
    finally:
        smtp.close()
        await smtp.wait_closed()
    return caught.value


async def test_an_email_without_a_transaction_bounces(mock_api: MockApi) -> None:
    client = await mock_api()
    plain = EmailMessage()
    plain["From"], plain["To"], plain["Subject"] = SIB_ADDRESS, "cjis@mocks.invalid", "hello"
    plain.set_content("no attachment here")
    error = await _refusal(client.service, message=plain)
    assert error.smtp_code == 550
    assert b"no EBTS transaction attached" in error.smtp_error


async def test_an_unreadable_attachment_bounces_naming_record_and_field(
    mock_api: MockApi, synth: Synthesizer
) -> None:
    client = await mock_api()
    cut = encode(booking_car(synth))[:-50]
    message = message_for(cut, sender=SIB_ADDRESS, to="cjis@mocks.invalid", name="car.eft")
    error = await _refusal(client.service, message=message)
    assert error.smtp_code == 554
    assert b"H0001 $.records[" in error.smtp_error


@pytest.mark.parametrize(
    ("kind", "code"),
    [("http-503", 421), ("http-500", 451), ("connection-reset", None), ("http-400", 554)],
)
async def test_an_injected_fault_answers_by_email_as_it_does_over_http(
    mock_api: MockApi, synth: Synthesizer, kind: str, code: int | None
) -> None:
    """An outage is a temporary failure (503: 421 service not available; 500: 451) or a dropped
    connection, which the sender rides out; a refusal (400) is permanent (554)."""
    key = synth.biometric_key()
    client = await mock_api(_match(key, {"kind": kind, "times": 1}))
    car = encode(booking_car(synth, key=key))
    message = message_for(car, sender=SIB_ADDRESS, to="cjis@mocks.invalid", name="car.eft")
    if code is None:
        with pytest.raises(smtplib.SMTPServerDisconnected):
            await _mail_to(client.service, message)
    else:
        error = await _refusal(client.service, message=message)
        assert error.smtp_code == code
        assert kind.encode() in error.smtp_error
    # as over HTTP, the attempt is ledgered as refused, and not as a submission taken
    ledger = (await client.get("/admin/ledger", params={"channel": "cjis-fault"})).json()
    assert [e["id"].rsplit(":", 2)[1] for e in ledger["entries"]] == [kind]
    # the fault ran out: the same mail is taken
    assert await _mail_to(client.service, message) == {}


async def _mail_to(service: Any, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    port = free_port()
    smtp = await start_smtp(service, port=port)
    try:
        return await asyncio.to_thread(_mail, b"", port, message=message)
    finally:
        smtp.close()
        await smtp.wait_closed()


def test_mailto_targets_name_address_and_relay() -> None:
    assert parse_mailto("mailto:sib@x.invalid?relay=10.0.0.5:2525") == (
        "sib@x.invalid",
        "10.0.0.5",
        2525,
    )
    assert parse_mailto("mailto:sib@x.invalid") == ("sib@x.invalid", "127.0.0.1", 25)
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_mailto("mailto:sib@x.invalid?relay=nowhere")


async def test_an_unreachable_relay_is_retried_later() -> None:
    body = json.dumps(schemas.examples("sre")[0])
    done, error = await send_delivery(
        f"mailto:{SIB_ADDRESS}?relay=127.0.0.1:{free_port()}", body, {}, "SRE-1"
    )
    assert not done
    assert error


async def test_an_lea_inbox_takes_an_encoded_response(mock_api: MockApi) -> None:
    client = await mock_api()
    idr = schemas.examples("idr")[0]
    headers = {"content-type": MEDIA_TYPE, "x-interop-message-id": "m-1"}
    response = await client.post("/lea/NC0920000/inbox", content=encode(idr), headers=headers)
    assert response.status_code == 202, response.text
    inbox = await client.get("/lea/NC0920000/inbox")
    assert [m["message"] for m in inbox.json()["messages"]] == [idr]
