"""STARTTLS and AUTH on the mocks' e-mail wire, with real sockets and `smtplib`: the intake
offers STARTTLS (a self-signed certificate made at start), may require it and AUTH PLAIN/LOGIN,
and the mocks' outgoing mail uses STARTTLS when the SIB's server offers it."""

from __future__ import annotations

import argparse
import asyncio
import smtplib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from interop.serving import _mail_security
from mocks.delivery.mailer import send_delivery
from mocks.servers.server import free_port
from mocks.servers.smtp import start_smtp
from mocks.state.service import MockService
from mocks.transport.mailsecurity import (
    AUTH_ENV,
    MailSecurity,
    client_context,
    credentials,
    self_signed_context,
)
from synthetic import Synthesizer
from tests.conftest import MockApi, booking_car
from tests.test_wire_transports import SIB_ADDRESS
from wire.codec import encode
from wire.mail import message_for

pytestmark = pytest.mark.anyio

_USERS = {"state-switch": "correct horse battery staple"}


async def _intake(service: MockService, security: MailSecurity) -> tuple[asyncio.Server, int]:
    port = free_port()
    return await start_smtp(service, port=port, security=security), port


def _submit(
    data: bytes, port: int, *, tls: bool, login: tuple[str, str] | None = None, mech: str = ""
) -> dict[str, tuple[int, bytes]]:
    message = message_for(data, sender=SIB_ADDRESS, to="cjis@mocks.invalid", name="car.eft")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        if tls:
            client.starttls(context=client_context())
            client.ehlo()
        if login is not None:
            if mech:
                client.user, client.password = login
                client.auth(mech, getattr(client, f"auth_{mech.lower()}"))
            else:
                client.login(*login)
        return client.send_message(message)


def _features(port: int, *, tls: bool) -> dict[str, str]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        if tls:
            client.starttls(context=client_context())
            client.ehlo()
        return dict(client.esmtp_features)


async def test_starttls_is_offered_with_a_self_signed_certificate_and_a_car_goes_through_it(
    mock_api: MockApi, synth: Synthesizer
) -> None:
    client = await mock_api()
    security = MailSecurity(self_signed_context("localhost"))
    smtp, port = await _intake(client.service, security)
    try:
        assert "starttls" in await asyncio.to_thread(_features, port, tls=False)
        cars = [booking_car(synth), booking_car(synth)]
        assert await asyncio.to_thread(_submit, encode(cars[0]), port, tls=True) == {}
        # and a client that does not use it is still served (STARTTLS not required)
        assert await asyncio.to_thread(_submit, encode(cars[1]), port, tls=False) == {}
    finally:
        smtp.close()
        await smtp.wait_closed()
    for car in cars:
        ledger = await client.get("/admin/ledger", params={"tcn": car["type1"]["tcn"]})
        assert [e["message"] for e in ledger.json()["entries"]][:1] == [car]


async def test_required_starttls_refuses_mail_in_clear(
    mock_api: MockApi, synth: Synthesizer
) -> None:
    client = await mock_api()
    smtp, port = await _intake(client.service, MailSecurity(self_signed_context("localhost"), True))
    try:
        with pytest.raises(smtplib.SMTPSenderRefused) as caught:
            await asyncio.to_thread(_submit, encode(booking_car(synth)), port, tls=False)
        assert caught.value.smtp_code == 530
        assert await asyncio.to_thread(_submit, encode(booking_car(synth)), port, tls=True) == {}
    finally:
        smtp.close()
        await smtp.wait_closed()


async def test_auth_plain_and_login_are_required_and_offered_only_over_tls(
    mock_api: MockApi, synth: Synthesizer
) -> None:
    client = await mock_api()
    security = MailSecurity(self_signed_context("localhost"), False, _USERS)
    smtp, port = await _intake(client.service, security)
    user, password = next(iter(_USERS.items()))
    try:
        assert "auth" not in await asyncio.to_thread(_features, port, tls=False)
        offered = (await asyncio.to_thread(_features, port, tls=True))["auth"].split()
        assert {"PLAIN", "LOGIN"} <= set(offered)
        with pytest.raises(smtplib.SMTPSenderRefused) as caught:
            await asyncio.to_thread(_submit, encode(booking_car(synth)), port, tls=True)
        assert caught.value.smtp_code == 530
        login = (user, "wrong")
        with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
            await asyncio.to_thread(_submit, b"", port, tls=True, login=login, mech="PLAIN")
        assert wrong.value.smtp_code == 535
        for mech in ("PLAIN", "LOGIN"):
            data = encode(booking_car(synth))
            sent = await asyncio.to_thread(
                _submit, data, port, tls=True, login=(user, password), mech=mech
            )
            assert sent == {}
    finally:
        smtp.close()
        await smtp.wait_closed()


class _TlsMailbox:
    """A SIB's mail server offering STARTTLS: keeps each mail and whether TLS carried it."""

    def __init__(self) -> None:
        self.mails: list[tuple[bool, bytes]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.mails.append((session.ssl is not None, bytes(content)))
        return "250 OK"


@pytest.fixture
async def tls_mailbox() -> AsyncIterator[tuple[_TlsMailbox, int]]:
    box, port = _TlsMailbox(), free_port()
    context = self_signed_context("sib.state.invalid")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(box, tls_context=context, require_starttls=True), "127.0.0.1", port
    )
    yield box, port
    server.close()
    await server.wait_closed()


async def test_deliveries_go_over_starttls_when_the_sib_server_offers_it(
    tls_mailbox: tuple[_TlsMailbox, int], synth: Synthesizer
) -> None:
    box, port = tls_mailbox
    target = f"mailto:{SIB_ADDRESS}?relay=127.0.0.1:{port}"
    body = '{"not": "a message"}'
    done, error = await send_delivery(target, body, {"X-Interop-Message-Id": "m-1"}, "m-1")
    assert (done, error) == (True, None)
    assert [tls for tls, _ in box.mails] == [True]


def test_credentials_come_from_a_file_and_the_environment(tmp_path: Path) -> None:
    found = tmp_path / "smtp-users"
    found.write_text("# the state's relays\nrelay-a:pa:ss\n\nrelay-b:secret\n", encoding="utf-8")
    assert credentials({AUTH_ENV: "env-user:env-pass"}, found) == {
        "relay-a": "pa:ss",
        "relay-b": "secret",
        "env-user": "env-pass",
    }
    assert credentials({}, None) == {}
    found.write_text("relay-a\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"smtp-users:1: expected USER:PASSWORD"):
        credentials({}, found)


def _args(**given: Any) -> argparse.Namespace:
    flags = {"host": "127.0.0.1", "smtp_cert": None, "smtp_key": None, "smtp_no_tls": False}
    flags |= {"smtp_require_tls": False, "smtp_auth_file": None}
    return argparse.Namespace(**(flags | given))


def test_serve_flags_name_what_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(AUTH_ENV, raising=False)
    made = _mail_security(_args())
    assert isinstance(made.tls, ssl.SSLContext)
    assert (made.require_tls, dict(made.users)) == (False, {})
    assert _mail_security(_args(smtp_no_tls=True)).tls is None
    with pytest.raises(ValueError, match="--smtp-cert and --smtp-key go together"):
        _mail_security(_args(smtp_cert="cert.pem"))
    missing = tmp_path / "none.pem"
    with pytest.raises(ValueError, match=r"--smtp-cert .* cannot be loaded"):
        _mail_security(_args(smtp_cert=str(missing), smtp_key=str(missing)))
    with pytest.raises(ValueError, match="--smtp-auth-file"):
        _mail_security(_args(smtp_auth_file=str(missing)))
    monkeypatch.setenv(AUTH_ENV, "switch:pw")
    assert dict(_mail_security(_args()).users) == {"switch": "pw"}
