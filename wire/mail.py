"""EBTS transactions as MIME attachments of e-mail, the way state store-and-forward networks
carry them: one message, one transaction attached (``application/x-ansi-nist``, base64)."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import formatdate, make_msgid
from typing import NamedTuple

__all__ = ["ATTACHMENT_SUFFIXES", "Attachment", "message_for", "transaction_of"]

ATTACHMENT_SUFFIXES = (".eft", ".an2", ".nist", ".ebts")
"""File-name endings taken as an encoded transaction whatever the declared media type."""

_MEDIA = ("application", "x-ansi-nist")


class Attachment(NamedTuple):
    """What a received e-mail carries: the transaction's bytes and the message's headers."""

    data: bytes
    sender: str
    subject: str
    headers: dict[str, str]


def message_for(
    data: bytes,
    *,
    sender: str,
    to: str,
    name: str,
    headers: dict[str, str] | None = None,
    media: tuple[str, str] = _MEDIA,
) -> EmailMessage:
    """An e-mail from `sender` to `to` carrying `data` as the attachment `name`."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"EBTS {name}"
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(f"EBTS transaction {name} attached.\n")
    message.add_attachment(data, maintype=media[0], subtype=media[1], filename=name)
    return message


def _is_transaction(part: Message) -> bool:
    name = (part.get_filename() or "").lower()
    declared = (part.get_content_maintype(), part.get_content_subtype()) == _MEDIA
    return declared or name.endswith(ATTACHMENT_SUFFIXES)


def transaction_of(raw: bytes) -> Attachment | None:
    """The first transaction attached to the e-mail `raw`, or None when it carries none.

    An attachment counts when declared ``application/x-ansi-nist``, named like an EBTS file,
    or when its bytes start with the ``1.001:`` of a Type-1 header.
    """
    message = message_from_bytes(raw, policy=policy.default)
    declared: list[bytes] = []
    sniffed: list[bytes] = []
    for part in message.walk():
        payload = None if part.is_multipart() else part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        if _is_transaction(part):
            declared.append(payload)
        elif payload.lstrip()[:6] == b"1.001:" and part.get_content_disposition():
            sniffed.append(payload)
    candidates = declared + sniffed
    if not candidates:
        return None
    headers = {k.lower(): str(v) for k, v in message.items()}
    return Attachment(
        candidates[0], str(message.get("From", "")), str(message.get("Subject", "")), headers
    )
