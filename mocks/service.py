"""The mock federal side in one place: clock, scheduler, ledger, CJIS/IDENT/LESC and deliveries.

Everything a request changes is committed to the ledger before the request is answered; on start
the service reloads the pending timers and the deliveries still owed, so a mock killed mid-run and
restarted on the same ledger delivers every response it owes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import time
import uuid
import weakref
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

import schemas
from protocol.ebts import gmt, parse_ebts_date, parse_gmt

from .backoff import Backoff
from .cjis import earliest, fbi_for_key, plan_submission
from .clock import VirtualClock
from .courier import Courier
from .ident import IdentRepository
from .ledger import Ledger
from .records import (
    Op,
    TimerRow,
    delivery_op,
    intake_op,
    message_op,
    retarget_op,
    state_op,
    timer_done_op,
    timer_op,
)
from .scenario import Scenario
from .scheduler import Scheduler, Timer

__all__ = ["FaultResponse", "MockService", "Submitted"]

_TRANSIENT = ("http-400", "http-500", "http-503", "connection-reset")
_JSON_BOOL = {True: "true", False: "false"}
_FBI_CACHED = 10_000
"""FBI numbers whose biometric keys are kept in memory; the rest are looked up in the ledger."""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _part(document: Any, key: str) -> dict[str, Any]:
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, dict) else {}


@functools.lru_cache(maxsize=4)
def _gmt(when: datetime) -> str:
    """`gmt(when)`, remembered: submissions arriving within one virtual second share it."""
    return gmt(when)


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


class MockService:
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
        self.courier = Courier(
            self.ledger,
            target=lambda: self.callback,
            transport=transport,
            backoff=backoff,
            workers=courier_workers,
        )
        self.scheduler = Scheduler(self.clock, self._fire, source=self.ledger)
        self._attempts: dict[str, int] = {}
        self._fbi: OrderedDict[str, str] = OrderedDict()
        self._advancing = asyncio.Lock()
        self._outages: dict[str, float] = {}
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
        self.started = True

    async def stop(self) -> None:
        """Stop running; what is owed stays in the ledger for the next start."""
        if not self.started:
            return
        self.started = False
        await self.scheduler.stop()
        await self._save_clock()
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

    async def key_for_fbi(self, fbi: str) -> str | None:
        """The biometric key of an FBI number on file (scenario subjects or earlier CARs)."""
        key = self.scenario.subjects.get(fbi) or self._fbi.get(fbi)
        if key is None:
            key = await self.ledger.state(f"fbi:{fbi}")
            if key is not None:
                self._cache_fbi(fbi, key)
        return key

    def _cache_fbi(self, fbi: str, key: str) -> None:
        self._fbi[fbi] = key
        if len(self._fbi) > _FBI_CACHED:
            self._fbi.popitem(last=False)

    async def submit(self, submission: dict[str, Any], *, text: str | None = None) -> Submitted:
        """Take a CAR or CPI whose `$.type1.tcn` is valid: validate it, ledger it (`text`: as
        received, else re-encoded), ack it; its responses (an ERRT for an invalid one) are planned
        when its first timer falls due.

        A TCN already taken is acknowledged again as a duplicate and starts nothing new. Raises
        `FaultResponse` when the scenario injects a failure into this answer.
        """
        tcn: str = submission["type1"]["tcn"]
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
        timer_id = f"{tcn}#plan"
        due = base + _first_step(case.timing)
        ops = [
            intake_op(self._message_op(f"in:{tcn}", "in", "cjis", submission, tcn, now, body=text)),
            # json.dumps([tcn, valid]): a TCN holds only JSON-safe characters (its pattern).
            timer_op(id=timer_id, due=due, kind="plan", payload=f'["{tcn}", {_JSON_BOOL[valid]}]'),
        ]
        try:
            await self.ledger.write(*ops)
        except sqlite3.IntegrityError:
            return Submitted(tcn=tcn, status="duplicate", virtual_time=_gmt(now))
        self._attempts.pop(tcn, None)
        self.scheduler.add(due, timer_id)
        hang = case.fault("hang") if case.faults else None
        if hang is not None:
            await asyncio.sleep(float(hang.get("seconds", 30)))
        return Submitted(tcn=tcn, status="accepted", virtual_time=_gmt(now))

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

    async def _fbi_on_file(self, submissions: list[Any]) -> dict[str, str | None]:
        """The FBI numbers a batch of submissions may look up, read from the ledger at once
        (None: not on file before this batch)."""
        numbers = set()
        for submission in submissions:
            key = _part(submission, "prints").get("biometric_key")
            if isinstance(key, str):
                numbers.add(fbi_for_key(self.scenario.seed, key))
            fbi = _part(submission, "type2").get("fbi")
            if isinstance(fbi, str):
                numbers.add(fbi)
        stored = await self.ledger.states([f"fbi:{n}" for n in sorted(numbers)])
        return {n: stored.get(f"fbi:{n}") for n in numbers}

    async def _plan(self, rows: list[TimerRow]) -> tuple[list[Op], list[tuple[float, str]]]:
        """Plan the submissions whose first timer fell due: their steps become timers."""
        ops: list[Op] = []
        timers: list[tuple[float, str]] = []
        found = await self.ledger.bodies([f"in:{json.loads(r.payload)[0]}" for r in rows])
        on_file = await self._fbi_on_file([json.loads(m.body) for m in found.values()])

        async def key_for_fbi(fbi: str) -> str | None:
            known = self.scenario.subjects.get(fbi) or self._fbi.get(fbi)
            if known is None and fbi in on_file:
                return on_file[fbi]
            return known or await self.key_for_fbi(fbi)

        for n, row in enumerate(rows, 1):
            if n % 32 == 0:
                await asyncio.sleep(0)  # planning is CPU work: let requests in between
            ops.append(timer_done_op(row.id))
            tcn, valid = json.loads(row.payload)
            taken = found.get(f"in:{tcn}")
            if taken is None:
                continue
            submission = json.loads(taken.body)
            received = parse_gmt(taken.virtual_time)
            plan = await plan_submission(
                submission,
                received=received,
                scenario=self.scenario,
                repository=self.repository,
                key_for_fbi=key_for_fbi,
                valid=valid,
            )
            facts = plan.facts
            if facts.get("tot") == "CAR" and "fbi" in facts:
                self._cache_fbi(facts["fbi"], facts["biometric_key"])
                ops.append(state_op(f"fbi:{facts['fbi']}", facts["biometric_key"]))
            ops.append(state_op(f"facts:{tcn}", json.dumps(facts, sort_keys=True)))
            lea = _text(_part(submission, "type1").get("ori"))
            base = received.timestamp()
            for i, step in enumerate(plan.steps):
                timer_id = f"{tcn}#{i:02d}"
                due = base + step.delay
                payload = {"step": step._asdict(), "tcn": tcn, "lea": lea}
                ops.append(
                    timer_op(id=timer_id, due=due, kind=step.action, payload=json.dumps(payload))
                )
                timers.append((due, timer_id))
        return ops, timers

    def _message_op(
        self,
        id: str,
        direction: str,
        channel: str,
        message: dict[str, Any],
        about: str,
        when: Any,
        *,
        lea: str | None = None,
        body: str | None = None,
    ) -> Op:
        header = _part(message, "type1")
        own = _text(header.get("tcn"))
        return message_op(
            id=id,
            direction=direction,
            channel=channel,
            tot=_text(header.get("tot")),
            tcn=own if direction == "out" else about,
            tcr=about if direction == "out" else _text(header.get("tcr")),
            ori=lea or _text(header.get("ori")),
            virtual_time=_gmt(when),
            body=body if body is not None else json.dumps(message),
        )

    # -- timers firing ---------------------------------------------------------------------

    async def _fire(self, batch: list[Timer]) -> None:
        rows = await self.ledger.timers([t.id for t in batch])
        now = self.clock.now()
        stamp = gmt(now)
        wall = time.time()
        ops, planned = await self._plan([r for r in rows if r.kind == "plan"])
        owed: list[str] = []
        for row in rows:
            if row.kind == "plan":
                continue
            payload = json.loads(row.payload)
            step = payload["step"]
            tcn: str = payload["tcn"]
            message_id, op = self._stamped(row.id, step, tcn, payload["lea"], now, stamp)
            ops.append(op)
            if step["action"] == "deliver":
                ops.append(
                    delivery_op(
                        message_id=message_id,
                        target=self.callback or "",
                        order_key=tcn,
                        copies=int(step.get("copies", 1)),
                        due=wall,
                    )
                )
                owed.append(message_id)
            ops.append(timer_done_op(row.id))
        await self.ledger.write(*ops)
        for due, timer_id in planned:
            self.scheduler.add(due, timer_id)
        if not owed:
            return
        self.courier.kick()
        if self.clock.mode == "manual" and self.callback:
            # On a manual clock each delivery is tried before time moves on, so what the SIB
            # does with it (routing to an LEA) is stamped with the delivery's own virtual time.
            await self.courier.attempted(owed, 30)

    def _stamped(
        self,
        timer_id: str,
        step: dict[str, Any],
        tcn: str,
        lea: str | None,
        now: datetime,
        stamp: str,
    ) -> tuple[str, Op]:
        """A planned step's message stamped with the virtual now, as a ledger write."""
        message = step["message"]
        if message is None:
            message_id = f"{timer_id}:raw"
            op = self._message_op(
                message_id, "out", step["channel"], {}, tcn, now, lea=lea, body=step["raw"]
            )
            return message_id, op
        message["type1"]["dat"] = stamp[:10].replace("-", "")
        message["type1"]["gmt"] = stamp
        if message["type1"]["tot"] == "DET":
            message["lodged_at"] = stamp
        message_id = message["type1"]["tcn"]
        return message_id, self._message_op(
            message_id, "out", step["channel"], message, tcn, now, lea=lea
        )

    # -- admin -----------------------------------------------------------------------------

    async def advance(self, seconds: float, *, wait: float = 30.0) -> dict[str, Any]:
        """Manual clock: move virtual time on, firing what falls due in order, then wait (up to
        `wait` wall seconds) until nothing is owed to the SIB."""
        if seconds < 0:
            raise ValueError(f"$.seconds: {seconds} is negative (rule: minimum 0)")
        async with self._advancing:  # the target instant is read under the lock
            fired = await self.scheduler.run_until(self.clock.now() + timedelta(seconds=seconds))
            await self._save_clock()
        return {
            "fired": fired,
            "settled": await self.settled(wait),
            "pending_timers": len(self.scheduler),
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
        await self.courier.stop()
        await self.ledger.reset()
        self._attempts.clear()
        self._outages.clear()
        self._fbi.clear()
        self.scheduler = Scheduler(self.clock, self._fire, source=self.ledger)
        await self._save_clock()
        await self.ledger.write(state_op("scenario", json.dumps(self.scenario.document)))
        await self.courier.start()
        await self.scheduler.start()

    async def health(self) -> dict[str, Any]:
        """What `/health` reports: the deliveries owed (how many, how many are being retried,
        since when the oldest is owed) beside the clock, the timers and the ledger's rows."""
        owed = await self.ledger.owed()
        oldest = None if owed.oldest is None else gmt(datetime.fromtimestamp(owed.oldest, UTC))
        return {
            "status": "ok",
            "clock": self.clock.state(),
            "scenario": self.scenario.name,
            "callback": self.callback,
            "pending_timers": len(self.scheduler),
            "outstanding_deliveries": self.courier.outstanding,
            "deliveries": {"owed": owed.owed, "retrying": owed.retrying, "oldest": oldest},
            "ledger": await self.ledger.counts(),
        }

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

    async def lea_receive(self, ori: str, message: Any, message_id: str | None) -> str:
        """Record what a SIB routed to the LEA with this ORI; returns the ledger id."""
        header = _part(message, "type1")
        own = message_id or str(uuid.uuid4())
        ledger_id = f"lea:{ori}:{own}:{uuid.uuid4().hex[:8]}"
        await self.ledger.write(
            message_op(
                id=ledger_id,
                direction="in",
                channel=f"lea:{ori}",
                tot=_text(header.get("tot")),
                tcn=_text(header.get("tcn")),
                tcr=_text(header.get("tcr")),
                ori=ori,
                virtual_time=gmt(self.clock.now()),
                body=json.dumps(message),
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
