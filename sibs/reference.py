"""The reference SIB: a small, correct state message switch, configured by a SUT profile.

It takes bookings from LEAs (`POST /bookings`), sends CJIS a CAR, or in an NFF state a CPI for a
subject arrested there before (SOP 2.1.1, 2.1.2; MOA IV.A), sends the same TCN again while CJIS is
out (in the request a few times, then in the background, never giving up), takes CJIS deliveries
(`POST /cjis/responses`), and relays each response about a transaction to the LEA that booked it,
unaltered and once (SOP 2.1.4; MOA IV.B), unless the state does not route or the LEA turned receipt
of IDRs and IARs off (guidance for sensitive jurisdictions); the plain SRE always goes (SOP 2.1.3).
A message an LEA inbox does not take is kept in the store and retried with back-off until it is.

As its state's NLETS switch (profile `nlets_relay`) it relays an LEA's name-based IAQ to the ICE
LESC (`POST /nlets/iaq`) under that LEA's ORI, once the no-match IDR of the transaction it names
came, and LESC's IAR (`POST /nlets/responses`) to that LEA alone; it sends no automated
blind-booking IAQ, and a booking with POB unknown goes by fingerprints as any other (SOP 2.2.7,
3.1.4; docs/nlets.md).

Each behaviour is one method, so a variant (`sibs.variants`) overrides exactly one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import schemas
from mocks.delivery.client import Outbound
from mocks.timing.backoff import Backoff
from mocks.transport import strictjson
from mocks.transport.strictjson import JsonRuleError
from protocol.ebts import CJIS_ORI, ebts_date, gmt, ori_state, parse_gmt
from protocol.nlets import ident_result
from protocol.submission import expected_tot

from .store import Owed, Store, Transaction, dumps

__all__ = ["ReferenceSib", "is_ident"]

_JSON = {"content-type": "application/json"}


def _status(status: str) -> Response:
    """The answer `{"status": status}` (made once: a response is never changed once made)."""
    return _STATUS.get(status) or _STATUS.setdefault(status, JSONResponse({"status": status}))


_STATUS: dict[str, Response] = {}


def _stamps() -> tuple[str, str]:
    """The EBTS date (1.005) and GMT (1.014) of this second, made once a second."""
    global _STAMPED
    second = int(time.time())
    stamped = _STAMPED
    if second != stamped[0]:
        now = datetime.fromtimestamp(second, UTC)
        stamped = _STAMPED = (second, ebts_date(now), gmt(now))
    return stamped[1], stamped[2]


_STAMPED: tuple[int, str, str] = (-1, "", "")


def _problem(status: int, detail: str, errors: list[dict[str, str]] | None = None) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": "Rejected", "status": status}
    body["detail"] = detail
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status, media_type="application/problem+json")


class ReferenceSib:
    """The reference SIB over a SQLite store; `app` is its ASGI app."""

    name = "reference"
    demo_profile = "nff"
    """The demo profile (`conformance.run.DEMO_PROFILES`) that shows what a variant breaks."""
    breaks: tuple[str, ...] = ()
    """The requirement IDs a faulty variant breaks (none for the reference and correct designs)."""
    correct = True
    """Whether this is a correct design: it must pass every check under every profile."""
    only_on: tuple[str, ...] = ()
    """The wires (`conformance.run.WIRES`) a faulty variant's defect shows on; empty: every wire.
    On the e-mail wire the stage's mail adapters, not the SIB, do what some defects get wrong."""
    forward_backoff = Backoff(0.05, 2.0, 1.0)
    inline_attempts = 4
    """Attempts at CJIS inside the booking request before the rest go to the background."""
    route_backoff = Backoff(0.05, 2.0, 1.0)
    timeout = 15.0

    def __init__(
        self,
        profile: dict[str, Any],
        *,
        cjis_url: str,
        store: str | Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.profile = profile
        self.cjis_url = cjis_url.rstrip("/")
        self.cjis_dai: str = profile.get("cjis_dai", CJIS_ORI)
        self.opted_out = frozenset(profile.get("opted_out_oris", []))
        self.nlets_url: str = profile.get("nlets_url") or f"{self.cjis_url}/nlets/messages"
        self.store = Store(store)
        self._transport = transport
        self._client: Outbound | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._taking: set[str] = set()
        """The deliveries being acted on now (by message id), not yet recorded as taken."""
        self._encoded: dict[str, tuple[dict[str, Any], bytes]] = {}
        """Submissions as the store holds them, by TCN, until first sent (encoded once)."""
        self.posts: dict[str, Callable[[Request], Awaitable[Response]]] = {
            "/bookings": self._bookings,
            "/cjis/responses": self._responses,
            "/nlets/iaq": self._nlets_iaq,
            "/nlets/responses": self._nlets_responses,
        }
        """The handlers of the SIB's POST routes, by path."""
        self.app = _StoredFirst(
            self.store,
            self.posts,
            Starlette(
                lifespan=self._lifespan,
                routes=[
                    Route("/bookings", self._bookings, methods=["POST"]),
                    Route("/cjis/responses", self._responses, methods=["POST"]),
                    Route("/nlets/iaq", self._nlets_iaq, methods=["POST"]),
                    Route("/nlets/responses", self._nlets_responses, methods=["POST"]),
                    Route("/health", self._health, methods=["GET"]),
                ],
            ),
        )

    def _lifespan(self, app: Starlette) -> contextlib.AbstractAsyncContextManager[None]:
        return self.running()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The SIB at work: what it owes resumed, its background work stopped at the end."""
        for tx in self.store.unsent():
            self.later(self._forward_until_taken(tx.body))
        for owed in self.store.owed():
            self.later(self._route_until_taken(owed))
        self.later(self._flushing())
        try:
            yield
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._client is not None:
                await self._client.aclose()
                self._client = None
            self.store.flush()

    async def _flushing(self) -> None:
        """Commit what background work wrote (retries' attempts) though no answer follows it:
        a few times a second (each wakes a SIB that may have nothing else to do)."""
        while True:
            await asyncio.sleep(0.25)
            self.store.flush()

    def later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background, keeping hold of it."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def transaction(self, tcn: str) -> Transaction | None:
        """The transaction with this TCN, if the SIB sent it."""
        return self.store.transaction(tcn)

    # -- behaviours (a variant overrides one) ----------------------------------------------

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        """Why a booking cannot be forwarded: schema problems, or an ORI of another state."""
        found = [
            {"path": p.path, "rule": p.rule, "message": p.message}
            for p in schemas.problems("booking", booking)
        ]
        if not found and ori_state(booking["ori"]) != self.profile["state"]:
            state = self.profile["state"]
            message = f"ORI {booking['ori']} is not in {state}"
            found.append({"path": "$.ori", "rule": "state", "message": message})
        return found

    def next_tcn(self) -> str:
        """A TCN never used before by this SIB (EBTS 1.009)."""
        return f"{self.profile['sib_ori']}-{self.store.run}-{self.store.count():08d}"

    def tot_for(self, booking: dict[str, Any]) -> str:
        """CAR, or CPI for a repeat arrest in an NFF state (SOP 2.1.2)."""
        return expected_tot(booking, nff=self.profile["nff"])

    def fbi_for(self, booking: dict[str, Any]) -> str | None:
        """The subject's FBI number: the booking's, or the one an SRE gave for these prints."""
        return booking.get("fbi") or self.store.fbi_of(booking["prints"]["biometric_key"])

    def learn(self, tx: Transaction, sre: dict[str, Any]) -> None:
        """Keep the FBI number an SRE gives (srf I: known to FBI; N: new) for the subject."""
        if "fbi" in sre["type2"] and tx.biometric_key:
            self.store.set_fbi(tx.biometric_key, sre["type2"]["fbi"])

    def submission(
        self, booking: dict[str, Any], tot: str, tcn: str, fbi: str | None
    ) -> dict[str, Any]:
        """The CAR or CPI for a booking."""
        dat, now = _stamps()
        person = booking["person"]
        type1 = {"tot": tot, "dat": dat, "pry": 4, "dai": self.cjis_dai}
        type1.update(ori=booking["ori"], tcn=tcn, gmt=now)
        if tot == "CPI":
            type2: dict[str, Any] = {"fbi": fbi, "nam": person["nam"], "dob": person["dob"]}
            if "sid" in booking:
                type2["sid"] = booking["sid"]
            type2.update(doa=booking["doa"], asl=booking["charges"], cri=[booking["ori"]])
            return {"type1": type1, "type2": type2}
        type2 = dict(person)
        type2.update(doa=booking["doa"], asl=booking["charges"], cri=[booking["ori"]])
        for field in ("sid", "fbi"):
            if field in booking:
                type2[field] = booking[field]
        return {"type1": type1, "type2": type2, "prints": booking["prints"]}

    def retries_outage(self, status: int | None) -> bool:
        """Whether to send the same TCN again after this answer (None: no answer at all)."""
        return status is None or status >= 500 or status in (408, 425, 429)

    def duplicate(self, message_id: str) -> bool:
        """Whether this delivery was taken already, or is being taken now (deliveries are
        idempotent by message id)."""
        return message_id in self._taking or self.store.taken(message_id)

    def keep(self, tx: Transaction, message: dict[str, Any], virtual_time: datetime | None) -> bool:
        """Whether to act on a delivery: the reference keeps waiting for every response."""
        return True

    def saw(self, tx: Transaction, message: dict[str, Any]) -> None:
        """What the SIB keeps of a delivery it acts on, for the transaction's later deliveries:
        nothing (the reference acts on each delivery alone; a design that weighs one against
        those before it keeps their kinds, `Transaction.seen`)."""

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        """Where a response goes: the LEA that booked, unless it carries an IDENT result and
        routing is off or the LEA opted out (the plain SRE and ERRT always go, SOP 2.1.3)."""
        if not is_ident(message):
            return [tx.ori]
        if not self.profile["message_routing"] or tx.ori in self.opted_out:
            return []
        return [tx.ori]

    def relay(self, raw: bytes, message: dict[str, Any]) -> bytes:
        """What is relayed: the delivery, byte for byte."""
        return raw

    async def after_errt(self, tx: Transaction, errt: dict[str, Any]) -> None:
        """An ERRT closes the transaction; it is never resubmitted unchanged."""
        self.store.set_state(tx.tcn, "rejected" if errt["type2"]["permanent"] else "errt")

    def survive(self, problem: str) -> None:
        """What a bad delivery does to the SIB: nothing; it is refused and the SIB goes on."""

    def by_name_only(self, booking: dict[str, Any]) -> bool:
        """Whether a booking goes to LESC by name in place of fingerprints: never (a booking with
        POB unknown goes by fingerprints as any other, SOP 2.2.7)."""
        return False

    def blind_iaq(self, booking: dict[str, Any]) -> bool:
        """Whether to send LESC an automated blind-booking IAQ for a booking: never; the
        fingerprint path does that work (SOP 2.2.7), and an LEA that keeps blind booking
        (profile `blind_booking_oris`) sends its own."""
        return False

    def nlets_waits(self, iaq: dict[str, Any]) -> str | None:
        """Why an LEA's IAQ cannot go to LESC yet (None: it may): it names a transaction whose
        no-match IDR has not come (SOP 2.2.7: the LEA may query after a no-match IDR)."""
        tcr = iaq["txt"].get("tcr")
        if tcr is None or self.store.setting(f"ident:{tcr}") is not None:
            return None
        return (
            f"$.txt.tcr: no IDENT result has come for {tcr} yet; an IAQ by name goes after the "
            "no-match IDR (rule: SOP 2.2.7)"
        )

    def nlets_outgoing(self, iaq: dict[str, Any]) -> list[dict[str, Any]]:
        """What goes to LESC for an LEA's IAQ: the IAQ as the LEA sent it, under its ORI."""
        return [iaq]

    def nlets_route_to(self, iar: dict[str, Any], asked_by: str | None) -> list[str]:
        """Where LESC's IAR goes: to the LEA whose IAQ it answers, and no other (opt-out of IDRs
        and IARs from CJIS does not hold: the LEA asked; docs/nlets.md)."""
        return [asked_by] if asked_by else []

    # -- HTTP: bookings --------------------------------------------------------------------

    def client(self) -> Outbound:
        if self._client is None:
            self._client = Outbound(transport=self._transport, timeout=self.timeout)
        return self._client

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "sib": self.name})

    async def _bookings(self, request: Request) -> Response:
        try:
            booking = strictjson.loads(await request.body())
        except JsonRuleError as exc:
            errors = [{"path": exc.path, "rule": exc.rule, "message": exc.message}]
            return _problem(400, "the booking is not JSON", errors)
        found = self.booking_problems(booking)
        if found:
            listed = "; ".join(f"{e['path']}: {e['message']} (rule: {e['rule']})" for e in found)
            return _problem(400, f"not a valid booking: {listed[:1000]}", found)
        tot = self.tot_for(booking)
        fbi = self.fbi_for(booking) if tot == "CPI" else booking.get("fbi")
        if tot == "CPI" and fbi is None:
            return _problem(
                422,
                "$.fbi: a repeat arrest in an NFF state goes as a CPI, which needs the FBI number; "
                "none is on file for this subject (rule: CPI carries the FBI number)",
            )
        if self.by_name_only(booking):
            await self.send_nlets(self.booking_iaq(booking))
            return JSONResponse({"status": "queried by name"}, 202)
        tcn = self.next_tcn()
        message = self.submission(booking, tot, tcn, fbi)
        self._encoded[tcn] = (message, self.store.add(tcn, booking, tot, message).encode())
        if self.blind_iaq(booking):
            await self.send_nlets(self.booking_iaq(booking))
        return await self.forward(message)

    async def forward(self, message: dict[str, Any]) -> Response:
        """Send the submission; while CJIS is out, go on in the background with the same TCN."""
        tcn = message["type1"]["tcn"]
        status, answer = await self.send_to_cjis(message, attempts=self.inline_attempts)
        if status is not None and status == 202:
            return JSONResponse({"tcn": tcn, "tot": message["type1"]["tot"]}, 202)
        if not self.retries_outage(status):
            self.store.set_state(tcn, "refused")
            return _problem(502, f"CJIS refused {tcn}: HTTP {status} {answer}")
        self.later(self._forward_until_taken(message))
        return JSONResponse({"tcn": tcn, "tot": message["type1"]["tot"], "status": "queued"}, 202)

    async def _forward_until_taken(self, message: dict[str, Any]) -> None:
        await self.send_to_cjis(message, attempts=None, first=self.inline_attempts + 1)

    async def send_to_cjis(
        self, message: dict[str, Any], *, attempts: int | None, first: int = 1
    ) -> tuple[int | None, Any]:
        """POST a submission to CJIS, the same TCN again while CJIS is out (`attempts` at most,
        or until taken); the last status and answer."""
        attempt = first
        while True:
            status, answer = await self._post_submission(message)
            if status == 202:
                self.store.set_state(message["type1"]["tcn"], "open", answer.get("virtual_time"))
            if status == 202 or not self.retries_outage(status):
                return status, answer
            if attempts is not None and attempt - first + 1 >= attempts:
                return status, answer
            await asyncio.sleep(self.forward_backoff.delay(attempt))
            attempt += 1

    async def _post_submission(self, message: dict[str, Any]) -> tuple[int | None, Any]:
        encoded = self._encoded.pop(message["type1"]["tcn"], None)
        if encoded is not None and encoded[0] is message:
            body = encoded[1]
        else:
            body = dumps(message).encode()
        try:
            response = await self.client().post(f"{self.cjis_url}/cjis/submissions", body, _JSON)
            return response.status_code, response.json() if response.content else {}
        except (httpx.HTTPError, ValueError) as exc:
            return None, str(exc)

    # -- HTTP: CJIS deliveries -------------------------------------------------------------

    async def _responses(self, request: Request) -> Response:
        raw = await request.body()
        try:
            message = strictjson.loads(raw)
        except JsonRuleError as exc:
            self.survive("not JSON")
            return _problem(400, f"the delivery is not JSON: {exc}")
        found = schemas.problems("delivery", message)
        if found:
            self.survive("schema")
            return _problem(400, f"not a valid CJIS delivery: {'; '.join(map(str, found[:5]))}")
        tx = self.transaction(message["type1"]["tcr"])
        if tx is None:
            return _status("unknown transaction")
        message_id = request.headers.get("x-interop-message-id") or message["type1"]["tcn"]
        stamp = request.headers.get("x-interop-virtual-time")
        if not self.keep(tx, message, parse_gmt(stamp) if stamp else None):
            return _status("dropped")
        if self.duplicate(message_id):
            return _status("duplicate")
        result = ident_result(message)
        if result is not None:
            self.store.set_setting(f"ident:{tx.tcn}", result)
        return await self._once(message_id, self.take(tx, message, raw, message_id))

    async def _once(self, message_id: str, acting: Awaitable[Response]) -> Response:
        """Act on a delivery once: a copy that comes meanwhile is a duplicate, and the delivery
        is recorded as taken once acted on (what it brought routed, or owed in the store), in
        the commit its answer waits for. Killed before, the SIB has recorded nothing of it and
        takes it again when CJIS delivers it again."""
        self._taking.add(message_id)
        try:
            answer = await acting
        finally:
            self._taking.discard(message_id)
        if answer.status_code < 300:
            self.store.first_time(message_id)
        return answer

    async def take(
        self, tx: Transaction, message: dict[str, Any], raw: bytes, message_id: str
    ) -> Response:
        """Act on a new delivery: learn from it, and relay it where it goes."""
        self.saw(tx, message)
        tot = message["type1"]["tot"]
        if tot == "SRE":
            self.learn(tx, message)
        if tot == "ERRT":
            await self.after_errt(tx, message)
        for ori in self.route_to(tx, message):
            await self.route(ori, self.relay(raw, message), message_id)
        return _status("taken")

    async def route(self, ori: str, body: bytes, message_id: str) -> None:
        """Relay a message to the LEA's inbox: kept in the store until the inbox takes it. While
        the delivery that brought it is not recorded (`_once`), it is kept only if the inbox
        does not take it at once: a SIB killed meanwhile is sent the delivery again."""
        if message_id not in self._taking:
            owed = self.store.owe(ori, message_id, body)
        elif await self._route_once(Owed(0, ori, message_id, body, 0)):
            return
        else:
            owed = self.store.attempted(self.store.owe(ori, message_id, body), done=False)
            self.later(self._route_until_taken(owed))
            return
        if not await self._route_once(owed):
            self.later(self._route_until_taken(self.store.attempted(owed, done=False)))

    async def _route_until_taken(self, owed: Owed) -> None:
        while True:
            await asyncio.sleep(self.route_backoff.delay(max(1, owed.attempts)))
            if await self._route_once(owed):
                return
            owed = self.store.attempted(owed, done=False)

    async def _route_once(self, owed: Owed) -> bool:
        url = f"{self.profile['lea_inbox_base'].rstrip('/')}/{owed.ori}/inbox"
        headers = {"content-type": "application/json", "x-interop-message-id": owed.message_id}
        try:
            response = await self.client().post(url, owed.body, headers)
        except httpx.HTTPError:
            return False
        if response.status_code >= 500 or response.status_code in (408, 425, 429):
            return False
        if owed.id:  # in the store (id 0: a message not kept, see `route`)
            self.store.attempted(owed, done=True)
        return True

    # -- NLETS: the LEA's name-based IAQ and LESC's IAR ----------------------------------------

    def booking_iaq(self, booking: dict[str, Any]) -> dict[str, Any]:
        """The automated blind-booking IAQ a booking system makes (what SOP 2.2.7 retires)."""
        person = booking["person"]
        mid = f"{booking['ori']}-NQ-{uuid.uuid4().hex[:12].upper()}"
        header = {"mke": "IAQ", "ori": booking["ori"], "dst": "AX", "mid": mid}
        header["gmt"] = gmt(datetime.now(UTC))
        txt: dict[str, Any] = {"pur": "C", "atn": "BOOKING", "phn": "555 0100"}
        txt.update(nam=person["nam"][:30].rstrip(" -'"), dob=person["dob"], sex=person["sex"])
        txt.update(pob=person["pob"], cus="Y", off=booking["charges"][0]["ncic"])
        return {"header": header, "txt": txt}

    def nlets_problems(self, iaq: Any) -> list[dict[str, str]]:
        """Why an LEA's IAQ cannot be relayed: schema problems, an ORI of another state, or a
        `tcr` naming a transaction this SIB did not send for that LEA."""
        found = [
            {"path": p.path, "rule": p.rule, "message": p.message}
            for p in schemas.problems("nlets-iaq", iaq)
        ]
        if found:
            return found
        ori, tcr = iaq["header"]["ori"], iaq["txt"].get("tcr")
        if ori_state(ori) != self.profile["state"]:
            message = f"ORI {ori} is not in {self.profile['state']}"
            found.append({"path": "$.header.ori", "rule": "state", "message": message})
        tx = None if tcr is None else self.transaction(tcr)
        if tcr is not None and (tx is None or tx.ori != ori):
            message = f"{tcr} is no transaction this SIB sent for {ori}"
            found.append({"path": "$.txt.tcr", "rule": "transaction", "message": message})
        return found

    async def _nlets_iaq(self, request: Request) -> Response:
        """`POST /nlets/iaq`: an LEA's name-based IAQ, relayed to LESC (202) or refused (4xx)."""
        if not self.profile.get("nlets_relay"):
            return _problem(404, "this SIB does not relay NLETS traffic (profile nlets_relay)")
        try:
            iaq = strictjson.loads(await request.body())
        except JsonRuleError as exc:
            errors = [{"path": exc.path, "rule": exc.rule, "message": exc.message}]
            return _problem(400, "the IAQ is not JSON", errors)
        found = self.nlets_problems(iaq)
        if found:
            listed = "; ".join(f"{e['path']}: {e['message']} (rule: {e['rule']})" for e in found)
            return _problem(400, f"not a valid NLETS IAQ: {listed[:1000]}", found)
        why = self.nlets_waits(iaq)
        if why is not None:
            return _problem(409, why)
        status = "relayed"
        for message in self.nlets_outgoing(iaq):
            self.store.set_setting(f"nlets:{message['header']['mid']}", iaq["header"]["ori"])
            code, _ = await self.send_nlets(message)
            if code is not None and code < 500 and code != 202:
                return _problem(502, f"NLETS refused {message['header']['mid']}: HTTP {code}")
            status = "relayed" if code == 202 else "queued"
        return JSONResponse({"mid": iaq["header"]["mid"], "status": status}, 202)

    async def send_nlets(self, message: dict[str, Any]) -> tuple[int | None, Any]:
        """POST an IAQ to NLETS, again while NLETS is out (a few times here, then in the
        background until taken); the last status and answer."""
        body = dumps(message).encode()
        for attempt in range(1, self.inline_attempts + 1):
            try:
                response = await self.client().post(self.nlets_url, body, _JSON)
                status: int | None = response.status_code
                answer: Any = response.content.decode("utf-8", "replace")
            except httpx.HTTPError as exc:
                status, answer = None, str(exc)
            if status is not None and not self.retries_outage(status):
                return status, answer
            await asyncio.sleep(self.forward_backoff.delay(attempt))
        self.later(self._nlets_until_taken(body))
        return status, answer

    async def _nlets_until_taken(self, body: bytes) -> None:
        attempt = self.inline_attempts
        while True:
            attempt += 1
            await asyncio.sleep(self.forward_backoff.delay(attempt))
            with contextlib.suppress(httpx.HTTPError):
                response = await self.client().post(self.nlets_url, body, _JSON)
                if not self.retries_outage(response.status_code):
                    return

    async def _nlets_responses(self, request: Request) -> Response:
        """`POST /nlets/responses`: LESC's IAR through NLETS, relayed to the LEA that asked."""
        raw = await request.body()
        try:
            iar = strictjson.loads(raw)
        except JsonRuleError as exc:
            return _problem(400, f"the IAR is not JSON: {exc}")
        found = schemas.problems("nlets-iar", iar)
        if found:
            return _problem(400, f"not a valid NLETS IAR: {'; '.join(map(str, found[:5]))}")
        message_id = request.headers.get("x-interop-message-id") or iar["header"]["mid"]
        if self.duplicate(message_id):
            return _status("duplicate")
        asked_by = self.store.setting(f"nlets:{iar['header']['mir']}")
        return await self._once(message_id, self._relay_iar(iar, raw, message_id, asked_by))

    async def _relay_iar(
        self, iar: dict[str, Any], raw: bytes, message_id: str, asked_by: str | None
    ) -> Response:
        for ori in self.nlets_route_to(iar, asked_by):
            await self.route(ori, raw, message_id)
        return _status("taken" if asked_by else "unknown query")


class _StoredFirst:
    """An ASGI app whose every answer goes out once the store holds what led to it.

    A POST to one of `posts` goes straight to its handler, without Starlette's middleware and
    route matching (a third of the SIB's CPU per booking); the rest (lifespan, `/health`, other
    paths and methods, with their 404 and 405) through `app`. A handler's exception reaches the
    server, which answers 500 as Starlette's error middleware did.
    """

    def __init__(
        self,
        store: Store,
        posts: dict[str, Callable[[Request], Awaitable[Response]]],
        app: ASGIApp,
    ) -> None:
        self.store, self.posts, self.app = store, posts, app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self.posts.get(scope["path"])
            if handler is not None:
                response = await handler(Request(scope, receive))
                self.store.flush()
                await response(scope, receive, send)
                return

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.store.flush()
            await send(message)

        await self.app(scope, receive, answer)


def is_ident(message: dict[str, Any]) -> bool:
    """Whether a delivery carries an IDENT result or an IAR (what opt-out and routing-off hold)."""
    tot = message["type1"]["tot"]
    return tot in ("IDR", "IAR") or (tot == "SRE" and "ident" in message["type2"])
