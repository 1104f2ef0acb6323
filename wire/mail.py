"""EBTS transactions as MIME attachments of e-mail, the way state store-and-forward networks
carry them: one message, one transaction attached (``application/x-ansi-nist``, base64). Read
back, a message may carry several transactions (each attachment one), or be the file itself (a
message that is not multipart, its body the transaction)."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import formatdate, make_msgid
from typing import NamedTuple

from . import is_encoded

__all__ = [
    "ATTACHMENT_SUFFIXES",
    "Attachment",
    "Mail",
    "message_for",
    "transaction_of",
    "transactions_of",
]

ATTACHMENT_SUFFIXES = (".eft", ".an2", ".nist", ".ebts")
"""File-name endings taken as an encoded transaction whatever the declared media type."""

_MEDIA = ("application", "x-ansi-nist")


class Attachment(NamedTuple):
    """What a received e-mail carries: the transaction's bytes and the message's headers."""

    data: bytes
    sender: str
    subject: str
    headers: dict[str, str]


class Mail(NamedTuple):
    """What a received e-mail carries: every transaction in it, in order, and its headers."""

    transactions: list[bytes]
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


def transactions_of(raw: bytes) -> Mail | None:
    """Every transaction the e-mail `raw` carries, or None when it carries none.

    A part counts when declared ``application/x-ansi-nist``, named like an EBTS file, or when its
    bytes start with the ``1.001:`` of a Type-1 header and it is an attachment or the whole
    message (a mail whose body is the file). Declared parts come first, then sniffed ones.
    """
    message = message_from_bytes(raw, policy=policy.default)
    declared: list[bytes] = []
    sniffed: list[bytes] = []
    whole = not message.is_multipart()
    for part in message.walk():
        payload = None if part.is_multipart() else part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        if _is_transaction(part):
            declared.append(payload)
        elif is_encoded(payload) and (whole or part.get_content_disposition()):
            sniffed.append(payload)
    candidates = declared + sniffed
    if not candidates:
        return None
    headers = {k.lower(): str(v) for k, v in message.items()}
    return Mail(candidates, str(message.get("From", "")), str(message.get("Subject", "")), headers)


def transaction_of(raw: bytes) -> Attachment | None:
    """The first transaction the e-mail `raw` carries (`transactions_of`), or None."""
    found = transactions_of(raw)
    if found is None:
        return None
    return Attachment(found.transactions[0], found.sender, found.subject, found.headers)
