"""The reference SIB: a small, correct state message switch, configured by a SUT profile.

It takes bookings from LEAs (`POST /bookings`), sends CJIS a CAR, or in an NFF state a CPI for a
subject arrested there before (SOP 2.1.1, 2.1.2; MOA IV.A), retries a CJIS outage with the same TCN,
takes CJIS deliveries (`POST /cjis/responses`), and relays each response about a transaction to
the LEA that booked it, unaltered and once (SOP 2.1.4; MOA IV.B), unless the state does not route
or the LEA turned receipt of IDRs and IARs off (guidance for sensitive jurisdictions). It waits for
responses as long as they come: the IDR alone at 24 hours and a late IAR after it are routed.

Each behaviour is one method, so a faulty variant (`conformance.variants`) overrides exactly one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import schemas
from protocol.ebts import CJIS_ORI, ebts_date, gmt, ori_state, parse_gmt
from protocol.submission import expected_tot

from .harness import kind_of

__all__ = ["ReferenceSib", "Transaction"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    tcn TEXT PRIMARY KEY, booking_id TEXT, ori TEXT NOT NULL, biometric_key TEXT,
    tot TEXT NOT NULL, submitted TEXT, body TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'open',
    seen TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS subjects (biometric_key TEXT PRIMARY KEY, fbi TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (message_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Transaction:
    """A submission the SIB sent to CJIS, and what it has heard about it."""

    def __init__(self, row: tuple[Any, ...]) -> None:
        self.tcn: str = row[0]
        self.booking_id: str | None = row[1]
        self.ori: str = row[2]
        self.biometric_key: str | None = row[3]
        self.tot: str = row[4]
        self.submitted: datetime | None = parse_gmt(row[5]) if row[5] else None
        self.body: dict[str, Any] = json.loads(row[6])
        self.state: str = row[7]
        self.seen: list[str] = json.loads(row[8])


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
    """The requirement IDs a faulty variant breaks (none for the reference)."""
    retry_delays: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)

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
        self._db = sqlite3.connect(
            str(store) if store else ":memory:", check_same_thread=False, isolation_level=None
        )
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._run = self._setting("run") or self._set_setting("run", uuid.uuid4().hex[:6].upper())
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self.app = Starlette(
            lifespan=self._lifespan,
            routes=[
                Route("/bookings", self._bookings, methods=["POST"]),
                Route("/cjis/responses", self._responses, methods=["POST"]),
                Route("/health", self._health, methods=["GET"]),
            ],
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if self._client is not None:
                await self._client.aclose()
                self._client = None

    # -- store -----------------------------------------------------------------------------

    def _sql(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _setting(self, key: str) -> str | None:
        rows = self._sql("SELECT value FROM settings WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def _set_setting(self, key: str, value: str) -> str:
        self._sql("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))
        return value

    def transaction(self, tcn: str) -> Transaction | None:
        """The transaction with this TCN, if the SIB sent it."""
        rows = self._sql("SELECT * FROM transactions WHERE tcn = ?", (tcn,))
        return Transaction(rows[0]) if rows else None

    def fbi_of(self, biometric_key: str) -> str | None:
        """The FBI number an SRE gave for this subject, if any."""
        rows = self._sql("SELECT fbi FROM subjects WHERE biometric_key = ?", (biometric_key,))
        return str(rows[0][0]) if rows else None

    # -- behaviours (a variant overrides one) ----------------------------------------------

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        """Why a booking cannot be forwarded: schema problems, or an ORI of another state."""
        found = [
            {"path": p.path, "rule": p.rule, "message": p.message}
            for p in schemas.problems("booking", booking)
        ]
        if not found and ori_state(booking["ori"]) != self.profile["state"]:
            found.append(
                {
                    "path": "$.ori",
                    "rule": "state",
                    "message": f"ORI {booking['ori']} is not in {self.profile['state']}",
                }
            )
        return found

    def next_tcn(self) -> str:
        """A TCN never used before by this SIB (EBTS 1.009)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = 'count'").fetchone()
            count = int(row[0]) + 1 if row else 1
            self._db.execute("INSERT OR REPLACE INTO settings VALUES ('count', ?)", (str(count),))
        return f"{self.profile['sib_ori']}-{self._run}-{count:08d}"

    def tot_for(self, booking: dict[str, Any]) -> str:
        """CAR, or CPI for a repeat arrest in an NFF state (SOP 2.1.2)."""
        return expected_tot(booking, nff=self.profile["nff"])

    def submission(
        self, booking: dict[str, Any], tot: str, tcn: str, fbi: str | None
    ) -> dict[str, Any]:
        """The CAR or CPI for a booking."""
        now = datetime.now(UTC)
        person = booking["person"]
        type1 = {
            "tot": tot,
            "dat": ebts_date(now),
            "pry": 4,
            "dai": self.cjis_dai,
            "ori": booking["ori"],
            "tcn": tcn,
            "gmt": gmt(now),
        }
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
        """Whether to send the same TCN again after this answer (None: the connection failed)."""
        return status is None or status >= 500 or status == 429

    def duplicate(self, message_id: str) -> bool:
        """Whether this delivery was taken already (deliveries are idempotent by message id)."""
        with self._lock:
            cursor = self._db.execute("INSERT OR IGNORE INTO deliveries VALUES (?)", (message_id,))
            return cursor.rowcount == 0

    def keep(self, tx: Transaction, message: dict[str, Any], virtual_time: datetime | None) -> bool:
        """Whether to act on a delivery: the reference keeps waiting for every response."""
        return True

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        """Where a response goes: the LEA that booked, unless routing is off or it opted out."""
        if not self.profile["message_routing"]:
            return []
        tot = message["type1"]["tot"]
        about_ident = tot in ("IDR", "IAR") or (tot == "SRE" and "ident" in message["type2"])
        if about_ident and tx.ori in self.opted_out:
            return []
        return [tx.ori]

    async def after_errt(self, tx: Transaction, errt: dict[str, Any]) -> None:
        """A permanent ERRT closes the transaction; it is never resubmitted unchanged."""
        state = "rejected" if errt["type2"]["permanent"] else "errt"
        self._sql("UPDATE transactions SET state = ? WHERE tcn = ?", (state, tx.tcn))

    def survive(self, problem: str) -> None:
        """What a bad delivery does to the SIB: nothing; it is refused and the SIB goes on."""

    # -- HTTP ------------------------------------------------------------------------------

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=15)
        return self._client

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "sib": self.name})

    async def _bookings(self, request: Request) -> Response:
        try:
            booking = json.loads(await request.body())
        except ValueError as exc:
            return _problem(
                400, "the booking is not JSON", [{"path": "$", "rule": "json", "message": str(exc)}]
            )
        found = self.booking_problems(booking)
        if found:
            listed = "; ".join(
                f"{e['path']}: {e['message']} (rule: {e['rule']})" for e in found[:5]
            )
            return _problem(400, f"not a valid booking: {listed}", found)
        tot = self.tot_for(booking)
        key = booking["prints"]["biometric_key"]
        fbi = booking.get("fbi") or self.fbi_of(key)
        if tot == "CPI" and fbi is None:
            return _problem(
                422,
                "$.fbi: a repeat arrest in an NFF state goes as a CPI, which needs the FBI number; "
                "none is on file for this subject (rule: CPI carries the FBI number)",
            )
        tcn = self.next_tcn()
        message = self.submission(booking, tot, tcn, fbi)
        self._sql(
            "INSERT INTO transactions (tcn, booking_id, ori, biometric_key, tot, body)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (tcn, booking["booking_id"], booking["ori"], key, tot, json.dumps(message)),
        )
        status, answer = await self.send_to_cjis(message)
        if status != 202:
            self._sql("UPDATE transactions SET state = 'unsent' WHERE tcn = ?", (tcn,))
            return _problem(502, f"CJIS did not take {tcn}: HTTP {status} {answer}")
        self._sql(
            "UPDATE transactions SET submitted = ? WHERE tcn = ?",
            (answer.get("virtual_time"), tcn),
        )
        return JSONResponse({"tcn": tcn, "tot": message["type1"]["tot"]}, 202)

    async def send_to_cjis(self, message: dict[str, Any]) -> tuple[int | None, Any]:
        """POST a submission to CJIS, sending the same TCN again while CJIS is out."""
        status: int | None = None
        answer: Any = None
        for delay in (*self.retry_delays, None):
            try:
                response = await self.client().post(
                    f"{self.cjis_url}/cjis/submissions", json=message
                )
                status = response.status_code
                answer = response.json() if response.content else None
            except (httpx.HTTPError, ValueError) as exc:
                status, answer = None, str(exc)
            if status == 202 or not self.retries_outage(status) or delay is None:
                return status, answer
            await asyncio.sleep(delay)
        return status, answer

    async def _responses(self, request: Request) -> Response:
        raw = await request.body()
        try:
            message = json.loads(raw)
        except ValueError as exc:
            self.survive("not JSON")
            return _problem(400, f"the delivery is not JSON: {exc}")
        found = schemas.problems("delivery", message)
        if found:
            self.survive("schema")
            listed = "; ".join(str(p) for p in found[:5])
            return _problem(400, f"not a valid CJIS delivery: {listed}")
        message_id = request.headers.get("x-interop-message-id") or message["type1"]["tcn"]
        if self.duplicate(message_id):
            return JSONResponse({"status": "duplicate"})
        tx = self.transaction(message["type1"]["tcr"])
        if tx is None:
            return JSONResponse({"status": "unknown transaction"})
        stamp = request.headers.get("x-interop-virtual-time")
        virtual_time = parse_gmt(stamp) if stamp else None
        if not self.keep(tx, message, virtual_time):
            return JSONResponse({"status": "dropped"})
        self._record(tx, message)
        tot = message["type1"]["tot"]
        if tot == "SRE" and "fbi" in message["type2"] and tx.biometric_key:
            self._sql(
                "INSERT OR REPLACE INTO subjects VALUES (?, ?)",
                (tx.biometric_key, message["type2"]["fbi"]),
            )
        if tot == "ERRT":
            await self.after_errt(tx, message)
        for ori in self.route_to(tx, message):
            await self.route(ori, raw, message_id)
        return JSONResponse({"status": "taken"})

    def _record(self, tx: Transaction, message: dict[str, Any]) -> None:
        tx.seen.append(kind_of(message).removeprefix("SRE+"))
        self._sql("UPDATE transactions SET seen = ? WHERE tcn = ?", (json.dumps(tx.seen), tx.tcn))

    async def route(self, ori: str, raw: bytes, message_id: str) -> None:
        """Relay a delivery, byte for byte, to the LEA's inbox."""
        url = f"{self.profile['lea_inbox_base'].rstrip('/')}/{ori}/inbox"
        headers = {"content-type": "application/json", "x-interop-message-id": message_id}
        for delay in (*self.retry_delays, None):
            try:
                response = await self.client().post(url, content=raw, headers=headers)
                if response.status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            if delay is None:
                return
            await asyncio.sleep(delay)
