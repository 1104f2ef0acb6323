"""Every body capped before it is read, and hostile mail refused before it is parsed: real sockets
on 127.0.0.1 (the HTTP mocks served in a thread, SMTP on the test's loop)."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx
import pytest

from mocks.servers.server import free_port, serving
from mocks.servers.smtp import MAX_DEPTH, MAX_PARTS, start_smtp
from mocks.state.service import MockService
from mocks.transport.bodies import DOCUMENT_LIMIT, SUBMISSION_LIMIT
from tests.conftest import manual_clock


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"a" * size
        sent += size


@pytest.mark.parametrize("path", ["/lea/NC0920000/inbox", "/cjis/submissions", "/admin/scenario"])
def test_a_chunked_body_over_the_limit_is_refused_at_the_limit(path: str) -> None:
    """No Content-Length to refuse it by: the body is read as it streams in, refused (413) once
    over the limit, and the connection closed without reading the rest."""
    with serving(MockService(clock=manual_clock())) as url:
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port or 0), timeout=30) as sock:
            head = f"POST {path} HTTP/1.1\r\nhost: mocks\r\ncontent-type: application/json\r\n"
            sock.sendall((head + "transfer-encoding: chunked\r\n\r\n").encode())
            sent = 0
            try:
                for chunk in _chunks(64 * SUBMISSION_LIMIT):
                    sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    sent += len(chunk)
            except TimeoutError:
                pytest.fail("the server stopped reading the body but kept the connection")
            except OSError:
                pass  # refused and closed before all was sent
            answer = b""
            with contextlib.suppress(OSError):
                while chunk := sock.recv(65536):
                    answer += chunk
    assert sent < 64 * SUBMISSION_LIMIT
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"application/problem+json" in answer


@pytest.mark.parametrize("path", ["/admin/scenario", "/ident/searches", "/nlets/messages"])
def test_a_document_that_is_no_submission_is_capped_at_a_mebibyte(path: str) -> None:
    """A scenario, a search or an IAQ carries no fingerprints: over `DOCUMENT_LIMIT` (well under
    the submissions' limit) it is refused at once, by its Content-Length, never parsed."""
    assert DOCUMENT_LIMIT == 1 << 20 < SUBMISSION_LIMIT
    body = b'{"description": "' + b"a" * DOCUMENT_LIMIT + b'"}'
    with serving(MockService(clock=manual_clock())) as url:
        answer = httpx.post(url + path, content=body, timeout=30,
                            headers={"content-type": "application/json"})  # fmt: skip
    assert answer.status_code == 413
    assert answer.json()["detail"] == f"the body is over {DOCUMENT_LIMIT} bytes (rule: limit)"


def _nested(depth: int) -> EmailMessage:
    message = EmailMessage()
    message.set_content("a transaction is attached")
    inner = message
    for _ in range(depth):
        child = EmailMessage()
        child.set_content("deeper")
        inner.make_mixed()
        inner.attach(child)
        inner = child
    return message


def _wide(parts: int) -> EmailMessage:
    message = EmailMessage()
    message.set_content("a transaction is attached")
    for k in range(parts):
        message.add_attachment(f"part {k}".encode(), maintype="text", subtype="plain")
    return message


def _send(port: int, message: EmailMessage) -> tuple[int, bytes]:
    message["From"] = "sib@state.example"
    message["To"] = "cjis@mocks.example"
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        try:
            client.send_message(message)
        except smtplib.SMTPDataError as refused:
            said = refused.smtp_error
            return refused.smtp_code, said if isinstance(said, bytes) else said.encode()
    return 250, b""


@pytest.mark.anyio
async def test_mail_with_too_many_parts_or_too_deep_is_refused_before_it_is_parsed() -> None:
    port = free_port()
    async with MockService(clock=manual_clock()) as service:
        smtp = await start_smtp(service, port=port)
        try:
            wide = await asyncio.to_thread(_send, port, _wide(3 * MAX_PARTS))
            deep = await asyncio.to_thread(_send, port, _nested(MAX_DEPTH + 2))
            plain = await asyncio.to_thread(_send, port, _wide(3))
        finally:
            smtp.close()
            await smtp.wait_closed()
    assert wide[0] == 554
    assert b"rule: parts" in wide[1]
    assert deep[0] == 554
    assert b"rule: depth" in deep[1]
    assert plain[0] == 550  # read, and found to carry no transaction
