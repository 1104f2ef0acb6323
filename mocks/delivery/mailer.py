"""The mock CJIS's outgoing mail: a delivery whose target is ``mailto:ADDRESS?relay=HOST:PORT``
goes as an e-mail to ADDRESS through the SMTP relay, the message encoded and attached
(`send_delivery`, called by the courier; `send_file` for an encoded transaction), over STARTTLS
when the relay offers it. The answer is the courier's: done, or try again later.
"""

from __future__ import annotations

import asyncio
import smtplib
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from wire import MEDIA_TYPE
from wire.codec import as_sent
from wire.mail import message_for

from ..transport.mailsecurity import client_context

__all__ = ["SENDER", "parse_mailto", "send_delivery", "send_file"]

SENDER = "cjis@mocks.interop-harness.invalid"
"""The address the mock CJIS mails its responses from."""
_DEFAULT_RELAY = "127.0.0.1:25"


def parse_mailto(target: str) -> tuple[str, str, int]:
    """The address and the relay (host, port) of a ``mailto:ADDRESS?relay=HOST:PORT`` target."""
    parts = urlsplit(target)
    if parts.scheme != "mailto" or "@" not in parts.path:
        raise ValueError(f"{target!r} is not a mailto: target with an address")
    relay = parse_qs(parts.query).get("relay", [_DEFAULT_RELAY])[0]
    host, _, port = relay.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"relay {relay!r} of {target!r} is not HOST:PORT")
    return unquote(parts.path), host, int(port)


def _send(target: str, body: str, headers: dict[str, str], name: str) -> None:
    data, media = as_sent(body)
    _send_data(target, data, media, headers, name)


def _send_data(target: str, data: bytes, media: str, headers: dict[str, str], name: str) -> None:
    to, host, port = parse_mailto(target)
    suffix = ".eft" if media == MEDIA_TYPE else ".json"
    main, _, sub = media.partition("/")
    message = message_for(
        data, sender=SENDER, to=to, name=name + suffix, headers=headers, media=(main, sub)
    )
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.ehlo()
        if client.has_extn("starttls"):  # the SIB's server offers it: use it
            client.starttls(context=client_context())
            client.ehlo()
        client.send_message(message, from_addr=SENDER, to_addrs=[to])


async def send_delivery(
    target: str, body: str, headers: dict[str, str], name: str
) -> tuple[bool, str | None]:
    """Mail one delivery (its JSON `body`, encoded) to a ``mailto:`` target.

    Returns ``(done, error)`` as the courier's HTTP post does: not done means try again later
    (no connection, or a 4xx SMTP reply); a 5xx reply is done, with its error.
    `headers` (X-Interop-Message-Id, X-Interop-Virtual-Time, ...) become e-mail headers.
    """
    return await _mailed(_send, target, body, headers, name)


async def send_file(target: str, data: bytes, name: str) -> tuple[bool, str | None]:
    """Mail one encoded transaction `data` to a ``mailto:`` target, as `send_delivery` does."""
    return await _mailed(_send_data, target, data, MEDIA_TYPE, {}, name)


async def _mailed(send: Any, *args: Any) -> tuple[bool, str | None]:
    try:
        await asyncio.to_thread(send, *args)
    except ValueError as exc:
        return True, f"undeliverable: {exc}"[:300]
    except smtplib.SMTPResponseException as exc:
        said = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        return exc.smtp_code >= 500, f"SMTP {exc.smtp_code} {said}"[:300]
    except smtplib.SMTPRecipientsRefused as exc:
        return True, f"recipient refused: {exc}"[:300]
    except (OSError, smtplib.SMTPException) as exc:
        return False, f"{type(exc).__name__}: {exc}"[:300]
    return True, None
