"""Timers falling due: a submission's first timer plans it (its steps become timers of their
own), each later timer stamps its step's message with the virtual now and owes its delivery.

On a manual clock plans are made as their timers fire (`run_until` stamps each with its own
time). On a realtime or scaled clock they go to the planner, a task of their own off the timer
runner and the accepting path: it plans in slices of `PLAN_SLICE` and, while submissions keep
coming, takes at most `PLAN_SHARE` of the time, unless a plan waited `PLAN_LAG` virtual seconds.

`Firing` is a part of `MockService` (`service.py`), the state it works on declared below.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from datetime import datetime
from typing import Any

import orjson

from protocol.ebts import gmt, parse_gmt

from .._utils import dumps, gmt_cached, part, read_json, text
from ..agencies.cjis import fbi_for_key, plan_submission
from ..agencies.ident import IdentRepository
from ..agencies.nlets import ledger_header
from ..agencies.scenario import Scenario
from ..delivery.courier import Courier
from ..storage.ledger import Ledger, NotWritable
from ..storage.records import (
    Op,
    TimerRow,
    delivery_op,
    message_op,
    state_op,
    timer_done_op,
    timer_op,
)
from ..timing.clock import VirtualClock
from ..timing.scheduler import Postponed, Scheduler, Timer

_log = logging.getLogger("interop.firing")

__all__ = [
    "FBI_CACHED",
    "PLAN_LAG",
    "PLAN_SHARE",
    "PLAN_SLICE",
    "PLAN_SUFFIX",
    "QUIET",
    "WRITE_OPS",
    "Firing",
]

FBI_CACHED = 10_000
"""FBI numbers whose biometric keys are kept in memory; the rest are looked up in the ledger."""

WRITE_OPS = 2000
"""About the most operations one ledger write of fired timers carries: a batch of a thousand plans
is written in a few commits (some 300 plans each), each of whole timers, so that submissions'
commits go in between (one write of six thousand operations held them back for 40 ms and more)."""

PLAN_SLICE = 16
"""On a realtime or scaled clock, how many submissions the planner plans (and writes) at once."""

PLAN_SHARE = 0.05
"""While submissions keep coming, the most of the wall time the planner takes: after a slice that
took t seconds it waits t * (1 / PLAN_SHARE - 1) before the next, so that planning never stalls
intake (a burst of submissions is taken as fast as on a manual clock, and planned after it)."""

QUIET = 0.05
"""Wall seconds without a new submission after which intake is idle and the planner runs freely."""

PLAN_LAG = 20.0
"""The most virtual seconds a submission's planning waits past its due for intake to pause:
later, the planner runs freely whatever comes in. A plan falls due at the timing profile's
earliest step (5 s in `sop`: an ERRT); the SRE of a CAR comes later than due + this lag (120 s in
`sop`, 30 s at the earliest in `realistic`), so only an ERRT may be this late, under a flood."""

PLAN_SUFFIX = "#plan"
"""How the id of a submission's plan timer ends (`{tcn}#plan`)."""

_Written = tuple[list[Op], list[tuple[float, str]]]
"""A fired timer's ledger operations, and the timers (due, id) to schedule once they are written."""


def _chunks(written: list[_Written]) -> list[_Written]:
    """`written` joined into writes of about `WRITE_OPS` operations, never splitting one timer's."""
    out: list[_Written] = []
    for ops, timers in written:
        if out and len(out[-1][0]) + len(ops) <= WRITE_OPS:
            out[-1][0].extend(ops)
            out[-1][1].extend(timers)
        else:
            out.append((list(ops), list(timers)))
    return out


class Firing:
    """What `MockService` does when its timers fall due (and the FBI numbers it plans with)."""

    scenario: Scenario
    repository: IdentRepository
    ledger: Ledger
    clock: VirtualClock
    scheduler: Scheduler
    courier: Courier
    callback: str | None
    _fbi: OrderedDict[str, str]
    intake_at: float
    """When (monotonic wall seconds) the last submission came in."""
    _planning: deque[Timer]
    """Plan timers fallen due on a realtime or scaled clock, waiting for the planner."""
    _planner: asyncio.Task[None] | None
    _plan_wake: asyncio.Event
    _rest_until: float

    def _init_firing(self) -> None:
        self._fbi = OrderedDict()
        self.intake_at = 0.0
        self._planning = deque()
        self._planner = None
        self._plan_wake = asyncio.Event()
        self._rest_until = 0.0

    @property
    def planning(self) -> int:
        """How many submissions wait for the planner (fallen due, not planned yet)."""
        return len(self._planning)

    def start_planner(self) -> None:
        """Start the planner task of realtime and scaled clocks (no-op when it runs)."""
        if self._planner is None or self._planner.done():
            loop = asyncio.get_running_loop()
            self._planner = loop.create_task(self._plan_forever(), name="interop.planner")

    async def stop_planner(self) -> None:
        """Stop the planner; what it had not planned stays pending in the ledger."""
        task, self._planner = self._planner, None
        self._planning.clear()
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.wait({task}, timeout=10)

    async def _plan_forever(self) -> None:
        """The planner: plan what fell due in slices of `PLAN_SLICE`, giving way to intake."""
        queue = self._planning
        while True:
            if not queue:
                self._plan_wake.clear()
                await self._plan_wake.wait()
                continue
            await self._give_way(queue[0].due)
            taken = [queue.popleft() for _ in range(min(PLAN_SLICE, len(queue)))]
            began = time.monotonic()
            try:
                rows = await self.ledger.timers([t.id for t in taken])
                await self._write(await self._plan([r for r in rows if r.kind == "plan"]))
            except NotWritable:  # a full disk: the slice waits, first in line, for room
                queue.extendleft(reversed(taken))
                await self.ledger.writable_again()
                continue
            except Exception:
                _log.exception("planning %d submission(s) failed", len(taken))
            spent = time.monotonic() - began
            self._rest_until = time.monotonic() + spent * (1 / PLAN_SHARE - 1)

    async def _give_way(self, due: float) -> None:
        """Wait while submissions come in and the planner had its share, at most until the
        oldest plan waiting is `PLAN_LAG` virtual seconds past its due."""
        while True:
            now = time.monotonic()
            if now >= self._rest_until or now - self.intake_at >= QUIET:
                return
            if self.clock.timestamp() - due >= PLAN_LAG:
                return
            await asyncio.sleep(min(QUIET, self._rest_until - now))

    async def _write(self, written: list[_Written]) -> None:
        """Write planned or fired timers' operations, then schedule the timers they add."""
        for ops, planned in _chunks(written):
            await self.ledger.write(*ops)
            for due, timer_id in planned:
                self.scheduler.add(due, timer_id)

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
        if len(self._fbi) > FBI_CACHED:
            self._fbi.popitem(last=False)

    async def _fbi_on_file(self, submissions: list[Any]) -> dict[str, str | None]:
        """The FBI numbers a batch of submissions may look up, read from the ledger at once
        (None: not on file before this batch)."""
        numbers = set()
        for submission in submissions:
            key = part(submission, "prints").get("biometric_key")
            if isinstance(key, str):
                numbers.add(fbi_for_key(self.scenario.seed, key))
            fbi = part(submission, "type2").get("fbi")
            if isinstance(fbi, str):
                numbers.add(fbi)
        stored = await self.ledger.states([f"fbi:{n}" for n in sorted(numbers)])
        return {n: stored.get(f"fbi:{n}") for n in numbers}

    async def _plan(self, rows: list[TimerRow]) -> list[_Written]:
        """Plan the submissions whose first timer fell due: their steps become timers."""
        written: list[_Written] = []
        # Each payload and each submission's text parsed once (planning reads both twice).
        payloads: list[tuple[str, bool]] = [orjson.loads(r.payload) for r in rows]
        found = await self.ledger.bodies([f"in:{tcn}" for tcn, _ in payloads])
        documents = {id: read_json(m.body) for id, m in found.items()}
        on_file = await self._fbi_on_file(list(documents.values()))

        async def key_for_fbi(fbi: str) -> str | None:
            known = self.scenario.subjects.get(fbi) or self._fbi.get(fbi)
            if known is None and fbi in on_file:
                return on_file[fbi]
            return known or await self.key_for_fbi(fbi)

        for n, (row, (tcn, valid)) in enumerate(zip(rows, payloads, strict=True), 1):
            if n % 32 == 0:
                await asyncio.sleep(0)  # planning is CPU work: let requests in between
            ops: list[Op] = [timer_done_op(row.id)]
            timers: list[tuple[float, str]] = []
            written.append((ops, timers))
            taken = found.get(f"in:{tcn}")
            if taken is None:
                continue
            submission = documents[taken.id]
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
            ops.append(state_op(f"facts:{tcn}", dumps(facts, sort_keys=True)))
            lea = text(part(submission, "type1").get("ori"))
            base = received.timestamp()
            for i, step in enumerate(plan.steps):
                timer_id = f"{tcn}#{i:02d}"
                due = base + step.delay
                payload = {"step": step._asdict(), "tcn": tcn, "lea": lea}
                ops.append(timer_op(id=timer_id, due=due, kind=step.action, payload=dumps(payload)))
                timers.append((due, timer_id))
        return written

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
        header = part(message, "type1") or ledger_header(message)
        own = text(header.get("tcn"))
        return message_op(
            id=id,
            direction=direction,
            channel=channel,
            tot=text(header.get("tot")),
            tcn=own if direction == "out" else about,
            tcr=about if direction == "out" else text(header.get("tcr")),
            ori=lea or text(header.get("ori")),
            virtual_time=gmt_cached(when),
            body=body if body is not None else dumps(message),
        )

    async def _fire(self, batch: list[Timer]) -> None:
        """Fire `batch`; while the ledger cannot write, `Postponed` (the timers stay pending)."""
        try:
            await self._fire_written(batch)
        except NotWritable as exc:
            raise Postponed(str(exc), self.ledger.writable_again) from None

    async def _fire_written(self, batch: list[Timer]) -> None:
        if self.clock.mode == "manual":
            rows = await self.ledger.timers([t.id for t in batch])
            written = await self._plan([r for r in rows if r.kind == "plan"])
        else:  # off the runner: the planner gives way to intake (steps fire meanwhile)
            written = []
            plans = [t for t in batch if t.id.endswith(PLAN_SUFFIX)]
            if plans:
                self._planning.extend(plans)
                self._plan_wake.set()
                batch = [t for t in batch if not t.id.endswith(PLAN_SUFFIX)]
            rows = await self.ledger.timers([t.id for t in batch]) if batch else []
        now = self.clock.now()
        owed = self._steps([r for r in rows if r.kind != "plan"], now, written)
        # On a manual clock each delivery is tried before time moves on, so what the SIB does
        # with it (routing to an LEA) is stamped with the delivery's own virtual time: waited on
        # from before it is written, so no attempt can come before the wait.
        wait = bool(owed) and self.clock.mode == "manual" and bool(self.callback)
        if wait:
            self.courier.expect(owed)
        try:
            await self._write(written)
        except BaseException:
            if wait:
                self.courier.unexpect(owed)
            raise
        if not owed:
            return
        self.courier.kick()
        if wait:
            await self.courier.attempted(owed, 30)

    def _steps(self, rows: list[TimerRow], now: datetime, written: list[_Written]) -> list[str]:
        """The planned steps that fell due, each stamped (its message ledgered, its delivery owed)
        as a write of its own in `written`; the ids of the messages owed."""
        stamp = gmt(now)
        wall = time.time()
        owed: list[str] = []
        for row in rows:
            payload = orjson.loads(row.payload)
            step = payload["step"]
            tcn: str = payload["tcn"]
            message_id, op = self._stamped(row.id, step, tcn, payload["lea"], now, stamp)
            ops = [op]
            if step["action"] == "deliver":
                ops.append(
                    delivery_op(
                        message_id=message_id,
                        target=step.get("target") or self.callback or "",
                        order_key=tcn,
                        copies=int(step.get("copies", 1)),
                        due=wall,
                    )
                )
                owed.append(message_id)
            ops.append(timer_done_op(row.id))
            written.append((ops, []))
        return owed

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
        if "header" in message:  # NLETS (mocks/agencies/nlets.py): no Type-1 record
            message["header"]["gmt"] = stamp
            message_id = message["header"]["mid"]
            op = self._message_op(message_id, "out", step["channel"], message, tcn, now, lea=lea)
            return message_id, op
        message["type1"]["dat"] = stamp[:10].replace("-", "")
        message["type1"]["gmt"] = stamp
        if message["type1"]["tot"] == "DET":
            message["lodged_at"] = stamp
        message_id = message["type1"]["tcn"]
        return message_id, self._message_op(
            message_id, "out", step["channel"], message, tcn, now, lea=lea
        )
