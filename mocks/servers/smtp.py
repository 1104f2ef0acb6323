"""The mock CJIS over e-mail: an SMTP server taking EBTS transactions as MIME attachments.

`SubmissionHandler` (an aiosmtpd handler) decodes every transaction the e-mail carries
  (attached, or the body itself) and submits each JSON document exactly as
  ``POST /cjis/submissions`` does, or refuses the mail whole when one cannot be read or answered.
  The SMTP reply is the answer: ``250`` naming every TCN accepted (or a duplicate), and what was
  tolerated in the files (W0001 lines); for an injected fault what stands for its HTTP answer
  (`_fault_reply`: an outage is ``421`` or ``451``, which the sending MTA retries, or a dropped
  connection; a refusal is ``554``, not to be sent again); ``554`` with the problems naming
  record and field for a file that cannot be read or a TCN that cannot be answered (that one
  also answered by an ERRT naming 1.009, mailed back as HTTP returns it), ``550`` for an e-mail
  with no transaction attached; ``452`` (transient: the sending MTA keeps the mail and tries
  again) while the ledger cannot record it (a full disk). STARTTLS and AUTH (PLAIN, LOGIN) are
  offered as `mocks.transport.mailsecurity.MailSecurity` says.
Unless the service already has a callback, the first submission by e-mail sets it to its sender
through `reply_relay`: responses go back the way the submission came (mailed by
`mocks.delivery.mailer`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session

import schemas
from wire import MEDIA_TYPE
from wire.ansi_nist import WireError
from wire.codec import Decoded, read
from wire.mail import transactions_of

from ..delivery.mailer import parse_mailto, send_file
from ..state.service import FaultResponse, MockService
from ..storage.ledger import NotWritable
from ..transport.bodies import SUBMISSION_LIMIT, errt_refusal, evidence
from ..transport.guard import BACKLOG, Guard, for_process
from ..transport.mailsecurity import MailSecurity, smtp_options
from ..transport.problem import Problem

__all__ = [
    "MAX_DEPTH",
    "MAX_PARTS",
    "ServerWithSmtp",
    "SubmissionHandler",
    "run_with_smtp",
    "start_smtp",
]

_log = logging.getLogger("interop.smtp")
_HOSTNAME = "mocks.interop-harness.invalid"
_NOT_RECORDED = "452 4.3.1 the ledger cannot record mail now (disk full); try again later"
_DATA_LIMIT = SUBMISSION_LIMIT * 4 // 3 + (64 << 10)
"""The largest mail: a body of `SUBMISSION_LIMIT` bytes in base64, and its headers."""


def _reply_text(code: str, lines: list[str]) -> str:
    cleaned = [line.replace("\r", " ").replace("\n", " ")[:400] for line in lines[:10]]
    marks = ["-"] * (len(cleaned) - 1) + [" "]
    return "\r\n".join(f"{code}{mark}{line}" for mark, line in zip(marks, cleaned, strict=True))


def _fault_reply(fault: FaultResponse, server: SMTP) -> str:
    """The SMTP answer standing for the HTTP one a fault injects: a reset drops the connection,
    a 503 is 421 (service not available), another 5xx 451 (a local error: try again later), a 4xx
    554 (refused for good: not to be sent again)."""
    said = f"injected by the scenario: {fault}"
    status = fault.status
    if status is None:
        if server.transport is not None:  # uvloop's transports are not asyncio.Transport's
            cast(asyncio.Transport, server.transport).abort()
        return _reply_text("421", [f"4.4.2 {said}"])
    if fault.permanent:
        return _reply_text("554", [f"5.7.0 refused, {said}"])
    if status == 503:
        return _reply_text("421", [f"4.3.2 {said}"])
    return _reply_text("451", [f"4.3.0 {said}"])


MAX_PARTS = 100
"""The most MIME parts an e-mail may have (counted before it is parsed)."""
MAX_DEPTH = 8
"""The most multipart levels (boundaries declared) an e-mail may have."""


class _BadTcn(NamedTuple):
    """A transaction whose TCN cannot be answered: refused (554) and answered by an ERRT."""

    document: dict[str, Any]
    tcn: Any
    said: str


def _read_mail(raw: bytes) -> list[Decoded] | str | _BadTcn:
    """The transactions an e-mail carries, decoded, or the SMTP reply refusing it (whole), or the
    transaction whose TCN cannot be answered (refused whole, with an ERRT mailed back). Run off
    the event loop (parsing MIME takes time); parts and depth are capped before it is parsed."""
    parts, depth = raw.count(b"\n--"), raw.lower().count(b"boundary=")
    if parts > 2 * MAX_PARTS or depth > MAX_DEPTH:
        rule = "parts" if parts > 2 * MAX_PARTS else "depth"
        text = f"5.6.0 at most {MAX_PARTS} MIME parts {MAX_DEPTH} levels deep (rule: {rule})"
        return _reply_text("554", [text])
    found = transactions_of(raw)
    if found is None:
        text = f"5.6.0 no EBTS transaction attached (send it as {MEDIA_TYPE})"
        return _reply_text("550", [text])
    taken: list[Decoded] = []
    count = len(found.transactions)
    for number, data in enumerate(found.transactions, start=1):
        which = f" (transaction {number} of {count}; the mail is refused whole)"
        try:
            decoded = read(data)
        except WireError as error:
            said = f"5.6.0 not a readable EBTS transaction ({len(error.problems)} problems)"
            lines = [said + (which if count > 1 else "")]
            return _reply_text("554", lines + [f"{p.code} {p}" for p in error.problems])
        tcn = _tcn(decoded.document)
        if tcn is None or schemas.problems("common.json#/$defs/tcn", tcn):
            said = f"5.6.0 1.009 TCN {tcn!r} cannot be answered"
            return _BadTcn(decoded.document, tcn, said + (which if count > 1 else ""))
        taken.append(decoded)
    return taken


class SubmissionHandler:
    """aiosmtpd handler: each e-mail's attached transaction is a submission to the mock CJIS."""

    def __init__(
        self,
        service: MockService,
        *,
        reply_relay: str | None = None,
        allow: Sequence[str] | None = None,
    ) -> None:
        """`allow`: the client networks (CIDR) mail is taken from (None: any; give it off
        loopback)."""
        self.service = service
        self.reply_relay = reply_relay
        self.allow = (
            None if allow is None else [ipaddress.ip_network(a, strict=False) for a in allow]
        )
        self.received = 0

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """Take the sender, unless the client is not in `allow` (550, before any data)."""
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        if self.allow is not None:
            try:
                client = ipaddress.ip_address(peer)
            except ValueError:
                client = None
            if client is None or not any(client in net for net in self.allow):
                return "550 5.7.1 this client may not send mail here (rule: --smtp-allow)"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Take the e-mail: the SMTP reply is the mock CJIS's answer to its submissions."""
        if not self.service.ledger.writable:
            return _NOT_RECORDED
        raw = envelope.original_content or envelope.content or b""
        taken = await asyncio.to_thread(_read_mail, raw if isinstance(raw, bytes) else raw.encode())
        if isinstance(taken, str):
            return taken
        if isinstance(taken, _BadTcn):
            mailed = await self._errt_for_tcn(taken.document, taken.tcn, envelope.mail_from)
            return _reply_text("554", [taken.said, *mailed])
        try:
            return await self._submit(taken, envelope.mail_from or "")
        except FaultResponse as fault:
            return _fault_reply(fault, server)
        except NotWritable:
            return _NOT_RECORDED

    async def _errt_for_tcn(self, document: dict[str, Any], tcn: Any, sender: Any) -> list[str]:
        """Mail the sender an ERRT naming 1.009, as HTTP answers one (its TCR echoes the TCN
        sent): to the service's ``mailto:`` callback, or the sender through `reply_relay`.
        The reply lines saying where it went, or why it did not."""
        callback = self.service.callback or ""
        if callback.startswith("mailto:"):
            target = callback
        elif self.reply_relay and sender:
            target = f"mailto:{sender}?relay={self.reply_relay}"
        else:
            return ["5.6.0 no ERRT mailed: no mailto: callback and no --smtp-relay"]
        header = document.get("type1", {})
        rule = "required" if tcn is None else "pattern"
        text = "1.009 TCN is required" if tcn is None else f"1.009 TCN: {tcn!r} breaks EBTS"
        errors = [{"path": "$.type1.tcn", "rule": rule, "message": text}]
        problem = Problem(400, "Bad Request", text, errors)
        now = self.service.clock.now()
        answer = errt_refusal(problem, header if isinstance(header, dict) else {}, now)
        name = f"ERRT-{header.get('ori', 'unknown')}" if isinstance(header, dict) else "ERRT"
        _, error = await send_file(target, bytes(answer.body), name)
        if error is not None:
            return [f"5.6.0 the ERRT naming 1.009 could not be mailed: {error}"]
        return [f"5.6.0 an ERRT naming 1.009 was mailed to {parse_mailto(target)[0]}"]

    async def _submit(self, taken: list[Decoded], sender: str) -> str:
        if self.service.callback is None and self.reply_relay and sender:
            self.service.callback = f"mailto:{sender}?relay={self.reply_relay}"
        lines = []
        for decoded in taken:
            ack = await self.service.submit(decoded.document)
            kept = evidence(decoded)
            if kept and ack["status"] == "accepted":
                await self.service.keep_as_received(decoded.document, kept)
            self.received += 1
            lines.append(f"2.0.0 TCN {ack['tcn']} {ack['status']} at {ack['virtual_time']}")
        warned = [f"2.0.0 {w.code} {w}" for d in taken for w in d.warnings]
        return _reply_text("250", lines + warned)


def _tcn(document: dict[str, Any]) -> Any:
    header = document.get("type1", {})
    return header.get("tcn") if isinstance(header, dict) else None


async def start_smtp(
    service: MockService,
    *,
    host: str = "127.0.0.1",
    port: int = 2525,
    reply_relay: str | None = None,
    guard: Guard | None = None,
    security: MailSecurity | None = None,
) -> asyncio.Server:
    """Start the SMTP server for `service` on this event loop (within `guard`'s limits, the
    process's by default; with STARTTLS and AUTH as `security` says); close it when done."""
    handler = SubmissionHandler(service, reply_relay=reply_relay)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        _sessions(handler, guard, security), host=host, port=port, backlog=BACKLOG
    )


def _sessions(handler: Any, guard: Guard | None, security: MailSecurity | None = None) -> Any:
    """The factory of the SMTP sessions of `handler`, within `guard`'s limits, with STARTTLS and
    AUTH as `security` says."""
    return (guard or for_process()).smtp(
        handler, hostname=_HOSTNAME, data_size_limit=_DATA_LIMIT, **smtp_options(security)
    )


class ServerWithSmtp(uvicorn.Server):
    """A uvicorn server that also serves SMTP (`handler`, an aiosmtpd handler) on its loop."""

    def __init__(
        self,
        config: uvicorn.Config,
        handler: Any,
        *,
        host: str,
        port: int,
        security: MailSecurity | None = None,
    ) -> None:
        super().__init__(config)
        self.smtp_handler = handler
        self.smtp_security = security
        self.smtp_host = host
        self.smtp_port = port
        self._smtp: asyncio.Server | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start HTTP (and the app's lifespan), then SMTP."""
        await super().startup(sockets)
        if self.should_exit:
            return
        loop = asyncio.get_running_loop()
        self._smtp = await loop.create_server(
            _sessions(self.smtp_handler, None, self.smtp_security),
            host=self.smtp_host,
            port=self.smtp_port,
            backlog=BACKLOG,
        )

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop SMTP, then HTTP."""
        if self._smtp is not None:
            self._smtp.close()
            await self._smtp.wait_closed()
            self._smtp = None
        await super().shutdown(sockets)


def run_with_smtp(
    server: uvicorn.Server,
    service: MockService,
    *,
    host: str,
    port: int,
    reply_relay: str | None = None,
    allow: Sequence[str] | None = None,
    security: MailSecurity | None = None,
) -> None:
    """Run the uvicorn `server` of the mocks with the SMTP server beside it until stopped; off
    loopback, mail is taken only from the client networks in `allow`."""
    from .server import is_loopback

    if not is_loopback(host) and not allow:
        raise ValueError(
            f"SMTP on {host} is off loopback: give --smtp-allow CIDR (the clients that may send "
            "mail) so that not anyone may submit (rule: safe by default)"
        )
    handler = SubmissionHandler(service, reply_relay=reply_relay, allow=allow)
    ServerWithSmtp(server.config, handler, host=host, port=port, security=security).run()
