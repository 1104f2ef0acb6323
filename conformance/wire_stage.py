"""Our SIB speaking EBTS by e-mail, so the whole suite runs over that wire.

The reference SIB (or any faulty variant) is left as it is; two adapters put it on the wire:

* `MailGateway`, its outbound HTTP transport: a ``POST …/cjis/submissions`` goes instead as an
  e-mail with the encoded transaction attached to the mock CJIS's SMTP server, and the SMTP
  reply comes back as the HTTP answer (250 → 202 with the acknowledgement, 451 → 503, 5xx → 400);
  every other request (LEA routing) goes over HTTP as before;
* `DeliveryHandler`, the SIB's own SMTP server: each e-mail from the mock CJIS is decoded and
  posted to the SIB's ``POST /cjis/responses`` with its X-Interop headers;
* `EbtsBodies`, ASGI middleware in front of the SIB: bookings sent as EBTS files reach it as JSON;
  and the gateway sends the SIB's LEA routing as EBTS files over HTTP.

`mail_stage` starts the mocks with SMTP and such a SIB; the profile it yields puts every
direction on the EBTS wire: bookings and LEA routing over HTTP, submissions and deliveries by
e-mail. The checks see the same JSON documents.
"""

from __future__ import annotations

import asyncio
import json
import re
import smtplib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from email import policy
from typing import Any

import httpx
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mocks.server import free_port, in_thread, server, uvicorn_server
from mocks.service import MockService
from mocks.smtp import ServerWithSmtp, SubmissionHandler
from wire import MEDIA_TYPE
from wire.ansi_nist import WireError
from wire.codec import decode, encode, request_body
from wire.mail import message_for, transaction_of

from .run import profile_for
from .variants import sib_class

__all__ = ["SIB_ADDRESS", "DeliveryHandler", "EbtsBodies", "MailGateway", "mail_stage"]

SIB_ADDRESS = "sib@state.interop-harness.invalid"
"""The e-mail address of our SIB on the stage."""
_CJIS_ADDRESS = "cjis@mocks.interop-harness.invalid"
_ACK = re.compile(r"TCN (\S+) (\S+) at (\S+)")
_FORWARDED = ("x-interop-message-id", "x-interop-virtual-time", "x-interop-tot")


def _mail(relay: tuple[str, int], data: bytes, name: str) -> tuple[int, str]:
    message = message_for(data, sender=SIB_ADDRESS, to=_CJIS_ADDRESS, name=name)
    with smtplib.SMTP(*relay, timeout=15) as client:
        client.ehlo()
        client.mail(SIB_ADDRESS)
        client.rcpt(_CJIS_ADDRESS)
        said: bytes | str
        try:
            code, said = client.data(message.as_bytes(policy=policy.SMTP))
        except smtplib.SMTPDataError as exc:
            code, said = exc.smtp_code, exc.smtp_error
    return code, said.decode(errors="replace") if isinstance(said, bytes) else said


async def _encoded(request: httpx.Request) -> httpx.Request:
    """The same request with its JSON body as an EBTS file (LEA routing on the EBTS wire)."""
    try:
        found = request_body(json.loads(await request.aread()))
    except ValueError:
        found = None
    if found is None:
        return request
    headers = {**dict(request.headers), **found[1]}
    headers.pop("content-length", None)
    return httpx.Request(request.method, request.url, headers=headers, content=found[0])


class MailGateway(httpx.AsyncBaseTransport):
    """Outbound transport of a SIB: submissions by e-mail, everything else over HTTP."""

    def __init__(self, relay: tuple[str, int]) -> None:
        self.relay = relay
        self.http = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Mail a submission and answer with the SMTP reply; pass the rest to HTTP."""
        if request.method == "POST" and request.url.path.endswith("/inbox"):
            return await self.http.handle_async_request(await _encoded(request))
        if request.method != "POST" or not request.url.path.endswith("/cjis/submissions"):
            return await self.http.handle_async_request(request)
        document = json.loads(await request.aread())
        name = f"{document['type1']['tcn']}.eft"
        try:
            code, said = await asyncio.to_thread(_mail, self.relay, encode(document), name)
        except (OSError, smtplib.SMTPException) as exc:
            raise httpx.ConnectError(f"SMTP {self.relay}: {exc}", request=request) from None
        found = _ACK.search(said)
        if code == 250 and found:
            ack = {"tcn": found[1], "status": found[2], "virtual_time": found[3]}
            return httpx.Response(202, json=ack, request=request)
        status = 503 if 400 <= code < 500 else 400
        return httpx.Response(status, json={"detail": f"SMTP {code} {said}"}, request=request)

    async def aclose(self) -> None:
        """Close the HTTP transport."""
        await self.http.aclose()


class EbtsBodies:
    """ASGI middleware in front of a SIB: a request body sent as an EBTS file (an encoded booking)
    reaches the app as its JSON document; an unreadable one is answered 400 naming record and
    field."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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

    def __init__(self, sut_url: str) -> None:
        self.url = f"{sut_url.rstrip('/')}/cjis/responses"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Take one delivery: 250 when the SIB took it, 451 to have it sent again later."""
        raw = envelope.original_content or envelope.content or b""
        found = transaction_of(raw if isinstance(raw, bytes) else raw.encode())
        if found is None:
            return "550 5.6.0 no EBTS transaction attached"
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


@contextmanager
def mail_stage(
    profile_name: str, *, variant: str = "reference", clock: str = "manual"
) -> Iterator[dict[str, Any]]:
    """Start the mocks (HTTP and SMTP) and our SIB `variant` on the e-mail wire; yield the profile.

    As `conformance.run.stage`, but submissions and deliveries travel as EBTS files by e-mail.
    """
    with ExitStack() as stack:
        service = MockService(clock=clock)
        cjis_smtp, sib_smtp = free_port(), free_port()
        handler = SubmissionHandler(service)

        def make_mocks(port: int) -> Any:
            config = server(service, port=port).config
            return ServerWithSmtp(config, handler, host="127.0.0.1", port=cjis_smtp)

        mocks_url = stack.enter_context(in_thread(make_mocks))
        holder: dict[str, Any] = {}

        def make_sib(port: int) -> Any:
            sut_url = f"http://127.0.0.1:{port}"
            profile = profile_for(profile_name, mocks_url=mocks_url, sut_url=sut_url)
            profile["wire"] = {
                "bookings": "ebts-http",
                "lea_routing": "ebts-http",
                "submissions": "ebts-smtp",
                "deliveries": "ebts-smtp",
                "sib_address": SIB_ADDRESS,
                "sib_relay": f"127.0.0.1:{sib_smtp}",
                "cjis_smtp": f"127.0.0.1:{cjis_smtp}",
            }
            holder["profile"] = profile
            gateway = MailGateway(("127.0.0.1", cjis_smtp))
            sib = sib_class(variant)(profile, cjis_url=mocks_url, transport=gateway)
            quiet = "warning" if variant == "reference" else "critical"
            app = EbtsBodies(sib.app)
            config = uvicorn_server(app, port=port, fast_loop=False, log_level=quiet).config
            return ServerWithSmtp(config, DeliveryHandler(sut_url), host="127.0.0.1", port=sib_smtp)

        stack.enter_context(in_thread(make_sib))
        service.callback = f"mailto:{SIB_ADDRESS}?relay=127.0.0.1:{sib_smtp}"
        yield holder["profile"]
