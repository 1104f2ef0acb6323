"""The mock federal side in one place: clock, scheduler, ledger, CJIS/IDENT/LESC and deliveries.

Everything a request changes is committed to the ledger before the request is answered; on start
the service reloads the pending timers and the deliveries still owed, so a mock killed mid-run and
restarted on the same ledger delivers every response it owes.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import OrderedDict
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

import schemas
from protocol.ebts import gmt, parse_ebts_date

from .cjis import fbi_for_key, plan_submission
from .clock import VirtualClock
from .courier import Courier, Delivery
from .ident import IdentRepository
from .ledger import (
    Ledger,
    MessageRow,
    delivery_op,
    message_op,
    state_op,
    timer_done_op,
    timer_op,
)
from .scenario import Scenario
from .scheduler import Scheduler, Timer

__all__ = ["FaultResponse", "MockService", "Submitted"]

_TRANSIENT = ("http-400", "http-500", "http-503", "connection-reset")
_RECENT_TCNS = 200_000
"""TCNs remembered in memory; older ones are looked up in the ledger."""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _part(document: Any, key: str) -> dict[str, Any]:
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, dict) else {}


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
        courier_workers: int = 8,
    ) -> None:
        self.clock = VirtualClock.parse(clock) if isinstance(clock, str) else clock
        self._scenario_given = scenario is not None
        self.scenario = scenario if isinstance(scenario, Scenario) else Scenario(scenario)
        self.repository = IdentRepository(self.scenario.seed, self.scenario.ident)
        self.ledger = Ledger(ledger)
        self.callback = callback or self.scenario.callback
        self.admin_token = admin_token
        self.courier = Courier(self.ledger, transport=transport, workers=courier_workers)
        self.scheduler = Scheduler(self.clock, self._fire)
        self._attempts: dict[str, int] = {}
        self._fbi: dict[str, str] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._ledger_knows_more = True
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
                self.scheduler = Scheduler(self.clock, self._fire)
        stored = await self.ledger.state("scenario")
        if stored is not None and not self._scenario_given:
            self._use_scenario(Scenario(json.loads(stored)))
        await self._save_clock()
        self._ledger_knows_more = (await self.ledger.counts()).get("messages", 0) > 0
        for timer in await self.ledger.pending_timers():
            self.scheduler.add(timer.due, timer.id)
        await self.courier.start()
        await self._resend_owed()
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

    async def _resend_owed(self) -> None:
        for owed in await self.ledger.pending_deliveries():
            row = await self.ledger.message(owed.message_id)
            if row is not None:
                self._send(row, owed.target or self.callback)

    # -- CJIS submissions ------------------------------------------------------------------

    async def key_for_fbi(self, fbi: str) -> str | None:
        """The biometric key of an FBI number on file (scenario subjects or earlier CARs)."""
        key = self.scenario.subjects.get(fbi) or self._fbi.get(fbi)
        if key is None and self._ledger_knows_more:
            key = await self.ledger.state(f"fbi:{fbi}")
            if key is not None:
                self._fbi[fbi] = key
        return key

    async def submit(self, submission: dict[str, Any]) -> Submitted:
        """Take a CAR or CPI whose `$.type1.tcn` is valid: ledger it, plan its responses, ack it.

        A TCN already taken is acknowledged again as a duplicate and starts nothing new. Raises
        `FaultResponse` when the scenario injects a failure into this answer.
        """
        tcn: str = submission["type1"]["tcn"]
        now = self.clock.now()
        if await self._taken(tcn):
            return Submitted(tcn=tcn, status="duplicate", virtual_time=gmt(now))
        type2 = _part(submission, "type2")
        key = _part(submission, "prints").get("biometric_key")
        if not isinstance(key, str):
            key = None
        if key is None and isinstance(type2.get("fbi"), str):
            key = await self.key_for_fbi(type2["fbi"])
        case = self.scenario.case(submission, key)
        for kind in _TRANSIENT:
            fault = case.fault(kind)
            if fault is None:
                continue
            attempt = self._attempts.get(tcn, 0) + 1
            self._attempts[tcn] = attempt
            if attempt <= fault.get("times", 1):
                await self.ledger.write(
                    self._message_op(
                        f"in:{tcn}:{kind}:{attempt}", "in", "cjis-fault", submission, tcn, now
                    )
                )
                raise FaultResponse(kind, tcn, attempt)
        plan = await plan_submission(
            submission,
            received=now,
            scenario=self.scenario,
            repository=self.repository,
            key_for_fbi=self.key_for_fbi,
            case_for=lambda _doc, _key: case,
        )
        base = now.timestamp()
        ops = [self._message_op(f"in:{tcn}", "in", "cjis", submission, tcn, now)]
        facts = plan.facts
        if facts.get("tot") == "CAR" and "fbi" in facts:
            self._fbi[facts["fbi"]] = facts["biometric_key"]
            ops.append(state_op(f"fbi:{facts['fbi']}", facts["biometric_key"]))
        ops.append(state_op(f"facts:{tcn}", json.dumps(facts, sort_keys=True)))
        timers: list[tuple[float, str]] = []
        lea = _text(_part(submission, "type1").get("ori"))
        for i, step in enumerate(plan.steps):
            timer_id = f"{tcn}#{i:02d}"
            due = base + step.delay
            payload = {"step": step._asdict(), "tcn": tcn, "lea": lea}
            ops.append(
                timer_op(id=timer_id, due=due, kind=step.action, payload=json.dumps(payload))
            )
            timers.append((due, timer_id))
        await self.ledger.write(*ops)
        self._remember(tcn)
        for due, timer_id in timers:
            self.scheduler.add(due, timer_id)
        hang = case.fault("hang")
        if hang is not None:
            await asyncio.sleep(float(hang.get("seconds", 30)))
        return Submitted(tcn=tcn, status="accepted", virtual_time=gmt(now))

    async def _taken(self, tcn: str) -> bool:
        """Whether a submission with this TCN was accepted already (this run, or in the ledger)."""
        if tcn in self._seen:
            return True
        if not self._ledger_knows_more:
            return False
        return await self.ledger.message(f"in:{tcn}") is not None

    def _remember(self, tcn: str) -> None:
        self._seen[tcn] = None
        if len(self._seen) > _RECENT_TCNS:
            self._seen.popitem(last=False)
            self._ledger_knows_more = True

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
    ) -> Any:
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
            virtual_time=gmt(when),
            body=body if body is not None else json.dumps(message),
        )

    # -- timers firing ---------------------------------------------------------------------

    async def _fire(self, batch: list[Timer]) -> None:
        rows = await self.ledger.timers([t.id for t in batch])
        now = self.clock.now()
        stamp = gmt(now)
        ops = []
        owed: list[tuple[str, str, str | None, str, str]] = []
        for row in rows:
            payload = json.loads(row.payload)
            step = payload["step"]
            tcn: str = payload["tcn"]
            message = step["message"]
            if message is not None:
                message["type1"]["dat"] = stamp[:10].replace("-", "")
                message["type1"]["gmt"] = stamp
                if message["type1"]["tot"] == "DET":
                    message["lodged_at"] = stamp
                message_id = message["type1"]["tcn"]
                body = json.dumps(message)
                ops.append(
                    self._message_op(
                        message_id, "out", step["channel"], message, tcn, now, lea=payload["lea"]
                    )
                )
                tot = message["type1"]["tot"]
            else:
                message_id = f"{row.id}:raw"
                body = step["raw"]
                ops.append(
                    self._message_op(
                        message_id,
                        "out",
                        step["channel"],
                        {},
                        tcn,
                        now,
                        lea=payload["lea"],
                        body=body,
                    )
                )
                tot = None
            if step["action"] == "deliver":
                ops.append(delivery_op(message_id=message_id, target=self.callback or ""))
                owed.append((message_id, body, tot, tcn, str(step.get("copies", 1))))
            ops.append(timer_done_op(row.id))
        await self.ledger.write(*ops)
        for message_id, body, tot, tcn, copies in owed:
            if self.callback:
                self.courier.send(
                    Delivery(message_id, body, self.callback, stamp, tot, tcn, int(copies))
                )
        if owed and self.clock.mode == "manual":
            # On a manual clock each delivery settles before time moves on, so what the SIB
            # does with it (routing to an LEA) is stamped with the delivery's own virtual time.
            await self.courier.idle(30)

    def _send(self, row: MessageRow, target: str | None) -> None:
        if target:
            self.courier.send(
                Delivery(row.id, row.body, target, row.virtual_time, row.tot, row.tcr or row.id)
            )

    # -- admin -----------------------------------------------------------------------------

    async def advance(self, seconds: float, *, wait: float = 30.0) -> dict[str, Any]:
        """Manual clock: move virtual time on, firing what falls due in order, then wait for the
        deliveries it started (up to `wait` wall seconds)."""
        if seconds < 0:
            raise ValueError(f"$.seconds: {seconds} is negative (rule: minimum 0)")
        fired = await self.scheduler.run_until(self.clock.now() + timedelta(seconds=seconds))
        await self._save_clock()
        settled = await self.courier.idle(wait)
        return {
            "fired": fired,
            "settled": settled,
            "pending_timers": len(self.scheduler),
            **self.clock.state(),
        }

    async def set_scenario(self, document: dict[str, Any]) -> Scenario:
        """Replace the scenario (validated); owed deliveries go to a newly given callback."""
        scenario = Scenario(document)
        had_callback = self.callback
        self._use_scenario(scenario)
        self._scenario_given = True
        await self.ledger.write(state_op("scenario", json.dumps(document)))
        if self.callback and not had_callback:
            await self._resend_owed()
        return scenario

    async def reset(self) -> None:
        """Forget every message, timer and delivery; the clock and scenario stay."""
        await self.scheduler.stop()
        await self.courier.stop()
        await self.ledger.reset()
        self._attempts.clear()
        self._outages.clear()
        self._fbi.clear()
        self._seen.clear()
        self._ledger_knows_more = False
        self.scheduler = Scheduler(self.clock, self._fire)
        await self._save_clock()
        await self.ledger.write(state_op("scenario", json.dumps(self.scenario.document)))
        await self.courier.start()
        await self.scheduler.start()

    async def health(self) -> dict[str, Any]:
        """What `/health` reports."""
        return {
            "status": "ok",
            "clock": self.clock.state(),
            "scenario": self.scenario.name,
            "callback": self.callback,
            "pending_timers": len(self.scheduler),
            "outstanding_deliveries": self.courier.outstanding,
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

    async def inbox(self, channel: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Messages recorded on a channel (`lea:ORI`, `dro`), oldest first."""
        rows = await self.ledger.messages(channel=channel, limit=limit)
        return [
            {
                "id": row.id,
                "virtual_time": row.virtual_time,
                "tot": row.tot,
                "tcr": row.tcr,
                "message": json.loads(row.body),
            }
            for row in rows
        ]

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
