"""Our SIB speaking EBTS by e-mail, so the whole suite runs over that wire.

The reference SIB (or any faulty variant) is left as it is; two adapters put it on the wire:

* `MailGateway`, its outbound HTTP transport: a ``POST …/cjis/submissions`` goes instead as an
  e-mail with the encoded transaction attached to the mock CJIS's SMTP server, and the SMTP
  reply comes back as the HTTP answer (250 → 202 with the acknowledgement, 421 → 503, another
  4xx → 500, 5xx → 400; a dropped connection or a reply later than the request's time limit as
  httpx raises them);
  every other request (LEA routing) goes over HTTP as before;
* `DeliveryHandler`, the SIB's own SMTP server: each e-mail from the mock CJIS is decoded and
  posted to the SIB's ``POST /cjis/responses`` with its X-Interop headers;
* `EbtsBodies`, ASGI middleware in front of the SIB: bookings sent as EBTS files reach it as JSON;
  and the gateway sends the SIB's LEA routing as EBTS files over HTTP.

`WireEvidence` keeps each EBTS file that crosses the stage (bookings, submissions, deliveries, LEA
routing) in a folder of the report, one file per message named by its TOT and TCN, with an index.

`MailWire` puts a stage (`conformance.run.stage(..., wire="ebts-smtp")`: the mocks and our SIB)
on this wire: the mocks with SMTP, such a SIB, and a profile with every direction on the EBTS
wire: bookings and LEA routing over HTTP, submissions and deliveries by e-mail. The checks see the
same JSON documents.
"""

from __future__ import annotations

import asyncio
import json
import re
import smtplib
import socket
import threading
from email import policy
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mocks.servers.server import free_port, uvicorn_mocks, uvicorn_server
from mocks.servers.smtp import ServerWithSmtp, SubmissionHandler
from mocks.state.service import MockService
from wire import MEDIA_TYPE
from wire.ansi_nist import WireError, read_records
from wire.codec import decode, encode, request_body
from wire.mail import message_for, transaction_of

__all__ = [
    "SIB_ADDRESS",
    "DeliveryHandler",
    "EbtsBodies",
    "MailGateway",
    "MailWire",
    "WireEvidence",
]

SIB_ADDRESS = "sib@state.interop-harness.invalid"
"""The e-mail address of our SIB on the stage."""
_CJIS_ADDRESS = "cjis@mocks.interop-harness.invalid"
_ACK = re.compile(r"TCN (\S+) (\S+) at (\S+)")
_SMTP_TIMEOUT = 15.0
"""Seconds the gateway waits for the mock CJIS's SMTP answer when the request sets no limit."""
_HTTP_FOR_SMTP = {421: 503}
"""The HTTP answer a SMTP reply stands for: 421 (service not available) is a 503; any other 4xx a
500 (try again later), any 5xx a 400 (refused for good)."""
_FORWARDED = ("x-interop-message-id", "x-interop-virtual-time", "x-interop-tot")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class WireEvidence:
    """The EBTS files that crossed the stage, one per message in `folder`, named
    ``NNNNN-TOT-TCN.eft`` in the order seen (``.bad`` for a file that cannot be read: a fault
    injected on purpose), and `index.md` listing each with its TCR and direction."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.rows: list[tuple[str, str, str, str, str]] = []
        self._lock = threading.Lock()
        for old in [*folder.glob("[0-9]*-*.eft"), *folder.glob("[0-9]*-*.bad")]:
            old.unlink()  # an earlier run's files, not this one's

    def keep(self, data: bytes, direction: str) -> None:
        """Write `data` (one transaction) that went `direction` (e.g. ``SIB → CJIS``)."""
        try:
            header = read_records(data)[0][0].fields
            tot, tcn, tcr = (str(header.get(n, "")) for n in (4, 9, 10))
            suffix = ".eft"
        except WireError:
            tot, tcn, tcr, suffix = "unreadable", "", "", ".bad"
        with self._lock:
            name = f"{len(self.rows) + 1:05d}-{tot}-{_UNSAFE.sub('_', tcn)[:60]}".rstrip("-")
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / (name + suffix)).write_bytes(data)
            self.rows.append((name + suffix, tot, tcn, tcr, direction))

    def write_index(self) -> Path:
        """`index.md`: every file kept, in order, with its TOT, TCN, TCR and direction."""
        lines = [
            "# EBTS files on the wire",
            "",
            f"{len(self.rows)} transactions, in the order they crossed the stage; each file is "
            "the transaction as sent (ANSI/NIST-ITL traditional encoding, readable by any "
            "ANSI/NIST-ITL codec, e.g. `nistitl`, or `interop convert FILE --to json`).",
            "",
            "| file | TOT | TCN | TCR | direction |",
            "|---|---|---|---|---|",
        ]
        with self._lock:
            lines += [f"| [{f}]({f}) | {t} | {n} | {r} | {d} |" for f, t, n, r, d in self.rows]
        self.folder.mkdir(parents=True, exist_ok=True)
        index = self.folder / "index.md"
        index.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return index


def _keep(evidence: WireEvidence | None, data: bytes, direction: str) -> None:
    if evidence is not None:
        evidence.keep(data, direction)


def _mail(relay: tuple[str, int], data: bytes, name: str, timeout: float) -> tuple[int, str]:
    message = message_for(data, sender=SIB_ADDRESS, to=_CJIS_ADDRESS, name=name)
    with smtplib.SMTP(*relay, timeout=timeout) as client:
        client.ehlo()
        client.mail(SIB_ADDRESS)
        client.rcpt(_CJIS_ADDRESS)
        said: bytes | str
        try:
            code, said = client.data(message.as_bytes(policy=policy.SMTP))
        except smtplib.SMTPDataError as exc:
            code, said = exc.smtp_code, exc.smtp_error
    return code, said.decode(errors="replace") if isinstance(said, bytes) else said


async def _encoded(request: httpx.Request, evidence: WireEvidence | None) -> httpx.Request:
    """The same request with its JSON body as an EBTS file (LEA routing on the EBTS wire)."""
    try:
        found = request_body(json.loads(await request.aread()))
    except ValueError:
        found = None
    if found is None:
        return request
    _keep(evidence, found[0], "SIB → LEA")
    headers = {**dict(request.headers), **found[1]}
    headers.pop("content-length", None)
    return httpx.Request(request.method, request.url, headers=headers, content=found[0])


class MailGateway(httpx.AsyncBaseTransport):
    """Outbound transport of a SIB: submissions by e-mail, everything else over HTTP."""

    def __init__(self, relay: tuple[str, int], evidence: WireEvidence | None = None) -> None:
        self.relay = relay
        self.evidence = evidence
        self.http = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Mail a submission and answer with the SMTP reply; pass the rest to HTTP."""
        if request.method == "POST" and request.url.path.endswith("/inbox"):
            return await self.http.handle_async_request(await _encoded(request, self.evidence))
        if request.method != "POST" or not request.url.path.endswith("/cjis/submissions"):
            return await self.http.handle_async_request(request)
        document = json.loads(await request.aread())
        name = f"{document['type1']['tcn']}.eft"
        # the SIB's own time limit holds for the e-mail as for a POST
        limit = request.extensions.get("timeout", {}).get("read") or _SMTP_TIMEOUT
        where = f"SMTP {self.relay[0]}:{self.relay[1]}"
        data = encode(document)
        _keep(self.evidence, data, "SIB → CJIS (e-mail)")
        try:
            code, said = await asyncio.to_thread(_mail, self.relay, data, name, limit)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"{where}: no answer in {limit} s", request=request) from exc
        except (ConnectionRefusedError, socket.gaierror) as exc:
            raise httpx.ConnectError(f"{where}: {exc}", request=request) from None
        except (OSError, smtplib.SMTPException) as exc:  # the connection dropped mid-mail
            raise httpx.ReadError(f"{where}: {exc}", request=request) from None
        found = _ACK.search(said)
        if code == 250 and found:
            ack = {"tcn": found[1], "status": found[2], "virtual_time": found[3]}
            return httpx.Response(202, json=ack, request=request)
        status = _HTTP_FOR_SMTP.get(code, 500 if 400 <= code < 500 else 400)
        return httpx.Response(status, json={"detail": f"SMTP {code} {said}"}, request=request)

    async def aclose(self) -> None:
        """Close the HTTP transport."""
        await self.http.aclose()


class EbtsBodies:
    """ASGI middleware in front of a SIB: a request body sent as an EBTS file (an encoded booking)
    reaches the app as its JSON document; an unreadable one is answered 400 naming record and
    field."""

    def __init__(self, app: ASGIApp, evidence: WireEvidence | None = None) -> None:
        self.app = app
        self.evidence = evidence

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Decode an `application/x-ansi-nist` body, then call the app."""
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        if not headers.get(b"content-type", b"").startswith(MEDIA_TYPE.encode()):
            await self.app(scope, receive, send)
            return
        data = b""
        while True:
            message = await receive()
            data += message.get("body", b"")
            if not message.get("more_body"):
                break
        _keep(self.evidence, data, "LEA → SIB")
        try:
            body = json.dumps(decode(data)[1]).encode()
        except WireError as error:
            errors = [{"path": p.field, "rule": p.code, "message": p.text} for p in error.problems]
            answer = JSONResponse({"title": "not a readable EBTS file", "errors": errors}, 400)
            await answer(scope, receive, send)
            return
        headers[b"content-type"] = b"application/json"
        headers[b"content-length"] = str(len(body)).encode()
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app({**scope, "headers": list(headers.items())}, replay, send)


class DeliveryHandler:
    """aiosmtpd handler of the SIB: each e-mailed delivery is posted to its /cjis/responses."""

    def __init__(self, sut_url: str, evidence: WireEvidence | None = None) -> None:
        self.url = f"{sut_url.rstrip('/')}/cjis/responses"
        self.evidence = evidence

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Take one delivery: 250 when the SIB took it, 451 to have it sent again later."""
        raw = envelope.original_content or envelope.content or b""
        found = transaction_of(raw if isinstance(raw, bytes) else raw.encode())
        if found is None:
            return "550 5.6.0 no EBTS transaction attached"
        _keep(self.evidence, found.data, "CJIS → SIB (e-mail)")
        try:
            body = json.dumps(decode(found.data)[1]).encode()
        except WireError as error:
            return f"554 5.6.0 {str(error)[:300]}"
        headers = {k: found.headers[k] for k in _FORWARDED if k in found.headers}
        headers["content-type"] = "application/json"
        try:
            async with httpx.AsyncClient(timeout=15) as client:
                response = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"451 4.4.1 the SIB did not answer: {type(exc).__name__}"
        if response.status_code >= 500:
            return f"451 4.3.0 the SIB answered HTTP {response.status_code}"
        return "250 2.0.0 taken" if response.status_code < 300 else "554 5.6.0 refused"


class MailWire:
    """The e-mail wire of a stage (`conformance.run.stage`): the mock CJIS's SMTP server beside
    the mocks' HTTP, our SIB behind `MailGateway` with `EbtsBodies` in front and its own SMTP server
    taking deliveries. Both SMTP ports are chosen once, so a restarted SIB is found again. With
    `evidence`, every EBTS file crossing the stage is kept there (`WireEvidence`)."""

    def __init__(self, service: MockService, evidence: Path | None = None) -> None:
        self.service = service
        self.evidence = WireEvidence(evidence) if evidence is not None else None
        self.cjis_smtp, self.sib_smtp = free_port(), free_port()
        self._handler = SubmissionHandler(service)

    @property
    def callback(self) -> str:
        """Where the mocks mail their deliveries: our SIB's address through its SMTP server."""
        return f"mailto:{SIB_ADDRESS}?relay=127.0.0.1:{self.sib_smtp}"

    def profile(self) -> dict[str, Any]:
        """The SUT profile's `wire`: every direction on the EBTS wire, bookings and LEA routing
        as files over HTTP, submissions and deliveries by e-mail."""
        return {
            "bookings": "ebts-http",
            "lea_routing": "ebts-http",
            "submissions": "ebts-smtp",
            "deliveries": "ebts-smtp",
            "sib_address": SIB_ADDRESS,
            "sib_relay": f"127.0.0.1:{self.sib_smtp}",
            "cjis_smtp": f"127.0.0.1:{self.cjis_smtp}",
        }

    def mocks(self, port: int) -> uvicorn.Server:
        """The mocks' server on `port`, with their SMTP server beside it."""
        config = uvicorn_mocks(self.service, port=port).config
        return ServerWithSmtp(config, self._handler, host="127.0.0.1", port=self.cjis_smtp)

    def gateway(self) -> MailGateway:
        """The SIB's outbound transport: submissions by e-mail to the mock CJIS."""
        return MailGateway(("127.0.0.1", self.cjis_smtp), self.evidence)

    def sib(self, app: ASGIApp, port: int, *, log_level: str) -> uvicorn.Server:
        """The SIB's server on `port` (bookings as EBTS files), its SMTP server beside it."""
        config = uvicorn_server(
            EbtsBodies(app, self.evidence), port=port, fast_loop=False, log_level=log_level
        )
        handler = DeliveryHandler(f"http://127.0.0.1:{port}", self.evidence)
        return ServerWithSmtp(config.config, handler, host="127.0.0.1", port=self.sib_smtp)
