"""The mock federal side in one place: clock, scheduler, ledger, CJIS/IDENT/LESC and deliveries.

Everything a request changes is committed to the ledger before the request is answered; on start
the service reloads the pending timers and the deliveries still owed, so a mock killed mid-run and
restarted on the same ledger delivers every response it owes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sqlite3
import time
import uuid
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

import schemas
from protocol.ebts import gmt, parse_ebts_date

from .._utils import dumps
from .._utils import gmt_cached as _gmt
from .._utils import part as _part
from .._utils import text as _text
from ..agencies.cjis import earliest, fbi_for_key
from ..agencies.ident import IdentRepository
from ..agencies.nlets import ledger_header
from ..agencies.scenario import Scenario
from ..delivery.courier import Courier
from ..storage.ledger import Ledger, NotWritable
from ..storage.records import (
    intake_op,
    message_op,
    retarget_op,
    state_op,
    timer_op,
)
from ..timing.backoff import Backoff
from ..timing.clock import VirtualClock
from ..timing.scheduler import Postponed, Scheduler
from .firing import PLAN_SUFFIX, Firing

__all__ = ["FaultResponse", "MockService", "Submitted"]

_log = logging.getLogger("interop.service")
_TRANSIENT = ("http-400", "http-500", "http-503", "connection-reset")
_JSON_BOOL = {True: "true", False: "false"}
_COPIES = random.Random(os.urandom(16))


_FIRST_STEPS: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def _first_step(timing: Any) -> float:
    """`earliest(timing)`, remembered for each timing profile (each is read-only once made)."""
    first = _FIRST_STEPS.get(timing)
    if first is None:
        first = _FIRST_STEPS[timing] = earliest(timing)
    return first


class Submitted(dict[str, Any]):
    """The acknowledgement of a submission: `{"tcn", "status", "virtual_time"}`."""


class FaultResponse(Exception):
    """A fault the scenario injects into the answer to a submission (`kind`: http-500, ...)."""

    def __init__(self, kind: str, tcn: str, attempt: int) -> None:
        super().__init__(f"injected {kind} for {tcn} (attempt {attempt})")
        self.kind = kind
        self.tcn = tcn
        self.attempt = attempt

    @property
    def status(self) -> int | None:
        """The HTTP status the fault answers with (None: the connection is reset instead).

        Whatever the wire, a 4xx refuses the submission for good and a 5xx or a reset is an outage
        the SIB rides out by sending again (over SMTP: a 5xx reply and a 451).
        """
        if self.kind == "connection-reset":
            return None
        return {"http-503": 503, "http-400": 400}.get(self.kind, 500)

    @property
    def permanent(self) -> bool:
        """Whether the fault refuses the submission for good (a 4xx), not an outage."""
        return self.status is not None and self.status < 500


_RECOUNT = 100
"""How many times as long as a count of the ledger took passes before `/health` counts again."""


class MockService(Firing):
    """The mock FBI CJIS, DHS IDENT, ICE LESC and DRO, and the LEA inboxes, on one virtual clock."""

    def __init__(
        self,
        *,
        clock: VirtualClock | str = "manual",
        scenario: Scenario | dict[str, Any] | None = None,
        ledger: str | Path | None = None,
        callback: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        admin_token: str | None = None,
        courier_workers: int = 32,
        backoff: Backoff | None = None,
    ) -> None:
        self.clock = VirtualClock.parse(clock) if isinstance(clock, str) else clock
        self._scenario_given = scenario is not None
        self.scenario = scenario if isinstance(scenario, Scenario) else Scenario(scenario)
        self.repository = IdentRepository(self.scenario.seed, self.scenario.ident)
        self.ledger = Ledger(ledger)
        self.callback = callback or self.scenario.callback
        self.admin_token = admin_token
        self.exposed = False
        """Served off loopback: then writes of evidence (LEA inboxes) and `/health`'s details need
        the admin token too (`mocks.servers.server.server` sets it)."""
        self.courier = Courier(
            self.ledger,
            target=lambda: self.callback,
            transport=transport,
            backoff=backoff,
            workers=courier_workers,
        )
        self.scheduler = Scheduler(self.clock, self._fire, source=self.ledger)
        self._attempts: dict[str, int] = {}
        self._init_firing()
        self._advancing = asyncio.Lock()
        self._outages: dict[str, float] = {}
        self._counted: tuple[float, dict[str, int]] | None = None
        self.started = False

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the ledger, resume its clock, timers and owed deliveries, and start running."""
        if self.started:
            return
        await self.ledger.open()
        snapshot = await self.ledger.state("clock")
        if snapshot is not None:
            resumed = VirtualClock.restore(snapshot)
            if resumed.mode == self.clock.mode and resumed.scale == self.clock.scale:
                self.clock = resumed
                self.scheduler = Scheduler(self.clock, self._fire, source=self.ledger)
        stored = await self.ledger.state("scenario")
        if stored is not None and not self._scenario_given:
            self._use_scenario(Scenario(json.loads(stored)))
        await self._save_clock()
        await self.scheduler.resume()
        await self.courier.start()
        await self.scheduler.start()
        if self.clock.mode != "manual":
            self.start_planner()
        self.started = True

    async def stop(self) -> None:
        """Stop running; what is owed stays in the ledger for the next start."""
        if not self.started:
            return
        self.started = False
        await self.scheduler.stop()
        await self.stop_planner()
        try:
            await self._save_clock()
        except NotWritable:  # a full disk: the clock resumes from its last snapshot
            _log.warning("the clock could not be saved on stop: the ledger is not writable")
        await self.courier.stop()
        await self.ledger.close()

    async def __aenter__(self) -> MockService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _save_clock(self) -> None:
        await self.ledger.write(state_op("clock", self.clock.snapshot()))

    def _use_scenario(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._outages.clear()
        self.repository = IdentRepository(scenario.seed, scenario.ident)
        if scenario.callback:
            self.callback = scenario.callback

    # -- CJIS submissions ------------------------------------------------------------------

    async def submit(self, submission: dict[str, Any], *, text: str | None = None) -> Submitted:
        """Take a CAR or CPI whose `$.type1.tcn` is valid: validate it, ledger it (`text`: as
        received, else re-encoded), ack it; its responses (an ERRT for an invalid one) are planned
        when its first timer falls due.

        A TCN already taken is acknowledged again as a duplicate and starts nothing new. Raises
        `FaultResponse` when the scenario injects a failure into this answer.
        """
        tcn: str = submission["type1"]["tcn"]
        self.intake_at = time.monotonic()
        now = self.clock.now()
        type2 = _part(submission, "type2")
        key = _part(submission, "prints").get("biometric_key")
        if not isinstance(key, str):
            key = None
        if key is None and isinstance(type2.get("fbi"), str):
            key = await self.key_for_fbi(type2["fbi"])
        case = self.scenario.case(submission, key)
        if case.faults:
            await self._transient_faults(submission, case, tcn, now)
        tot = _part(submission, "type1").get("tot")
        valid = tot in ("CAR", "CPI") and not schemas.problems(str(tot).lower(), submission)
        base = now.timestamp()
        timer_id = f"{tcn}{PLAN_SUFFIX}"
        due = base + _first_step(case.timing)
        op = intake_op(
            self._message_op(f"in:{tcn}", "in", "cjis", submission, tcn, now, body=text),
            # json.dumps([tcn, valid]): a TCN holds only JSON-safe characters (its pattern).
            timer_op(id=timer_id, due=due, kind="plan", payload=f'["{tcn}", {_JSON_BOOL[valid]}]'),
        )
        try:
            await self.ledger.write(op)
        except sqlite3.IntegrityError:
            return Submitted(tcn=tcn, status="duplicate", virtual_time=_gmt(now))
        self._attempts.pop(tcn, None)
        self.scheduler.add(due, timer_id)
        hang = case.fault("hang") if case.faults else None
        if hang is not None:
            await asyncio.sleep(float(hang.get("seconds", 30)))
        return Submitted(tcn=tcn, status="accepted", virtual_time=_gmt(now))

    async def keep_as_received(self, submission: dict[str, Any], evidence: dict[str, Any]) -> None:
        """Ledger, beside a submission taken from the EBTS wire, what its file carried that the
        JSON does not model and what was tolerated in it (`evidence`: ``unmodelled`` fields as
        received, ``warnings``): entry ``in:{tcn}:as-received`` on channel ``cjis-wire``."""
        tcn: str = submission["type1"]["tcn"]
        body = json.dumps({"tcn": tcn, **evidence})
        op = self._message_op(
            f"in:{tcn}:as-received", "in", "cjis-wire", submission, tcn, self.clock.now(), body=body
        )
        await self.ledger.write(op)

    async def _transient_faults(
        self, submission: dict[str, Any], case: Any, tcn: str, now: datetime
    ) -> None:
        """Raise `FaultResponse` while the scenario fails this TCN's attempts (not once taken)."""
        for kind in _TRANSIENT:
            fault = case.fault(kind)
            if fault is None:
                continue
            if await self.ledger.message(f"in:{tcn}") is not None:
                return  # taken already: the ledger answers it as a duplicate
            attempt = self._attempts.get(tcn, 0) + 1
            self._attempts[tcn] = attempt
            if attempt <= fault.get("times", 1):
                await self.ledger.write(
                    self._message_op(
                        f"in:{tcn}:{kind}:{attempt}", "in", "cjis-fault", submission, tcn, now
                    )
                )
                raise FaultResponse(kind, tcn, attempt)

    # -- admin -----------------------------------------------------------------------------

    async def advance(self, seconds: float, *, wait: float = 30.0) -> dict[str, Any]:
        """Manual clock: move virtual time on, firing what falls due in order, then wait (up to
        `wait` wall seconds) until nothing is owed to the SIB."""
        if seconds < 0:
            raise ValueError(f"$.seconds: {seconds} is negative (rule: minimum 0)")
        async with self._advancing:  # the target instant is read under the lock
            try:
                target = self.clock.after(seconds)
            except ValueError as exc:
                raise ValueError(f"$.{exc}") from None
            try:
                fired = await self.scheduler.run_until(target)
            except Postponed as postponed:  # the timers stay pending; the clock is where it got
                raise NotWritable(str(postponed)) from None
            await self._save_clock()
        return {
            "fired": fired,
            "settled": await self.settled(wait),
            "pending_timers": len(self.scheduler) + self.planning,
            **self.clock.state(),
        }

    async def settled(self, wait: float) -> bool:
        """Whether nothing is owed to the SIB, waiting up to `wait` wall seconds for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while (await self.ledger.owed()).owed:
            if loop.time() >= deadline or not self.callback:
                return False
            self.courier.kick()
            await asyncio.sleep(min(0.02, max(0.0, deadline - loop.time())))
        return True

    async def set_scenario(self, document: dict[str, Any]) -> Scenario:
        """Replace the scenario (validated); owed deliveries go to a newly given callback."""
        scenario = Scenario(document)
        self._use_scenario(scenario)
        self._scenario_given = True
        ops = [state_op("scenario", json.dumps(document))]
        if self.callback:
            ops.append(retarget_op(self.callback))
        await self.ledger.write(*ops)
        self.courier.kick()
        return scenario

    async def reset(self) -> None:
        """Forget every message, timer and delivery; the clock and scenario stay."""
        await self.scheduler.stop()
        await self.stop_planner()
        await self.courier.stop()
        await self.ledger.reset()
        self._attempts.clear()
        self._outages.clear()
        self._fbi.clear()
        self._counted = None
        self.scheduler = Scheduler(self.clock, self._fire, source=self.ledger)
        await self._save_clock()
        await self.ledger.write(state_op("scenario", json.dumps(self.scenario.document)))
        await self.courier.start()
        await self.scheduler.start()
        if self.clock.mode != "manual":
            self.start_planner()

    def status(self) -> dict[str, Any]:
        """`/health`'s status alone: ok, or degraded and why."""
        if self.ledger.writable:
            return {"status": "ok"}
        return {"status": "degraded", "degraded": "ledger not writable"}

    async def health(self) -> dict[str, Any]:
        """What `/health` reports: the deliveries owed (how many, how many are being retried,
        since when the oldest is owed) beside the clock, the timers and the ledger's rows."""
        owed = await self.ledger.owed()
        oldest = None if owed.oldest is None else gmt(datetime.fromtimestamp(owed.oldest, UTC))
        unrecorded = self.courier.unrecorded
        if owed.owed <= unrecorded:  # all the ledger owes was taken, not yet recorded
            oldest = None
        return {
            **self.status(),
            "clock": self.clock.state(),
            "scenario": self.scenario.name,
            "callback": self.callback,
            "pending_timers": len(self.scheduler) + self.planning,
            "outstanding_deliveries": self.courier.outstanding,
            "deliveries": {
                # Taken by the SIB but not yet recorded: no longer owed, though the ledger says so.
                "owed": max(0, owed.owed - unrecorded),
                "retrying": owed.retrying,
                "oldest": oldest,
                "unrecorded": unrecorded,
                "recorded_late": self.courier.recorded_late,
            },
            "ledger": await self._ledger_counts(),
        }

    async def _ledger_counts(self) -> dict[str, int]:
        """The ledger's rows per table, counted again once the last count is `_RECOUNT` times as
        old as it took (ten seconds at most): a count scans the tables, a few ms at 30,000
        submissions and a few hundred at a million, and `/health` is polled (by the replay at
        every slice: at ten times, the counts took a fifteenth of the mocks' CPU)."""
        now = time.monotonic()
        if self._counted is None or now >= self._counted[0]:
            counts = await self.ledger.counts()
            took = time.monotonic() - now
            self._counted = (time.monotonic() + min(10.0, _RECOUNT * took), counts)
        return self._counted[1]

    # -- inboxes ---------------------------------------------------------------------------

    async def lea_refuses(self, ori: str, body: bytes, message_id: str | None) -> bool:
        """Whether the LEA inbox of `ori` is down (the scenario's `inbox_outages`); each refusal
        is ledgered on channel `lea-fault:{ori}`."""
        seconds = self.scenario.inbox_outages.get(ori)
        if seconds is None:
            return False
        began = self._outages.setdefault(ori, time.monotonic())
        if time.monotonic() - began >= seconds:
            return False
        await self.ledger.write(
            message_op(
                id=f"lea-fault:{ori}:{uuid.uuid4().hex[:12]}",
                direction="in",
                channel=f"lea-fault:{ori}",
                tot=None,
                tcn=message_id,
                tcr=None,
                ori=ori,
                virtual_time=gmt(self.clock.now()),
                body=body.decode("utf-8", "replace"),
            )
        )
        return True

    async def lea_receive(
        self, ori: str, message: Any, message_id: str | None, *, text: str | None = None
    ) -> str:
        """Record what a SIB routed to the LEA with this ORI (`text`: its JSON as received);
        returns the ledger id."""
        header = _part(message, "type1") or ledger_header(message)
        own = message_id or str(uuid.uuid4())
        # 32 random bits tell copies of one message apart (a PRNG seeded by the OS: no system
        # call each, as uuid4's os.urandom is).
        ledger_id = f"lea:{ori}:{own}:{_COPIES.getrandbits(32):08x}"
        await self.ledger.write(
            message_op(
                id=ledger_id,
                direction="in",
                channel=f"lea:{ori}",
                tot=_text(header.get("tot")),
                tcn=_text(header.get("tcn")),
                tcr=_text(header.get("tcr")),
                ori=ori,
                virtual_time=_gmt(self.clock.now()),
                body=dumps(message) if text is None else text,
            )
        )
        return ledger_id

    # -- IDENT and LESC asked directly -----------------------------------------------------

    def ident_search(self, car: dict[str, Any]) -> dict[str, Any]:
        """Search IDENT for a valid CAR's subject: the IDR body (`idr.json#/$defs/response`)."""
        key = car["prints"]["biometric_key"]
        person = self.repository.person(key, car)
        case = self.scenario.case(car, key)
        encounters = self.repository.search(key, person, case.outcome)
        return {"result": "match" if encounters else "no-match", "encounters": encounters}

    def lesc_determine(self, iaq: dict[str, Any]) -> dict[str, Any]:
        """Answer a valid IAQ: the LESC status determination (`iar.json#/$defs/determination`)."""
        type2 = iaq["type2"]
        key = "|".join(type2["srl"])
        person = {f: type2[f] for f in ("nam", "dob", "pob", "sex")}
        parse_ebts_date(person["dob"])
        determination = self.repository.determine(
            key, person, type2["asl"], lea=type2["lea"], outcome={}
        )
        if "fbi" in type2:
            determination["fbi"] = type2["fbi"]
        schemas.validate("iar.json#/$defs/determination", determination)
        return determination

    def fbi_for(self, key: str) -> str:
        """The FBI number IAFIS gives the subject with this biometric key."""
        return fbi_for_key(self.scenario.seed, key)
