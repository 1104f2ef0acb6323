"""`POST /nlets/messages`: the name-based IAQ an LEA sends through its state's switch, answered by
LESC on the virtual clock with a name-based IAR, delivered by the courier to the switch's NLETS port
(`mocks.agencies.nlets.nlets_port`) for the querying LEA alone (SOP 2.2.7, 3.1.4; docs/nlets.md).

LESC searches the synthetic IDENT repository by name (`IdentRepository.name_search`): aliases and
near-matches count, and the answer says it rests on a name, not on fingerprints.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import schemas
from protocol.ebts import gmt
from synthetic import Synthesizer

from ..agencies.nlets import (
    FAULT_CHANNEL,
    IAQ_CHANNEL,
    IAR_CHANNEL,
    iar_mid,
    ledger_header,
    nlets_port,
)
from ..storage.records import message_op, timer_op
from ..transport.bodies import json_body
from ..transport.problem import Problem, check

if TYPE_CHECKING:
    from ..state.service import MockService

__all__ = ["Nlets"]


class Nlets:
    """`POST /nlets/messages` over the mock service."""

    def __init__(self, service: MockService) -> None:
        self.service = service
        self._attempts: dict[str, int] = {}
        self._synth = Synthesizer(0)

    async def messages(self, request: Request) -> Response:
        """`POST /nlets/messages`: a name-based IAQ, taken (202) and answered later by LESC."""
        document = await json_body(request)
        check("nlets-iaq", document, "NLETS IAQ")
        return JSONResponse(await self.take(document), 202)

    async def take(self, iaq: dict[str, Any], body: str | None = None) -> dict[str, Any]:
        """Ledger a valid IAQ and plan LESC's IAR (`nlets_iar` of the timing profile after now);
        an IAQ taken before (same sender, same `mid`) is acknowledged again as a duplicate."""
        service = self.service
        header = iaq["header"]
        ori, mid = header["ori"], header["mid"]
        now = service.clock.now()
        case = service.scenario.case({"type1": {"ori": ori, "tcn": mid}}, None)
        ledger_id = f"nlets:{ori}:{mid}"
        answer = {"mid": mid, "status": "accepted", "virtual_time": gmt(now)}
        if await service.ledger.message(ledger_id) is not None:
            return {**answer, "status": "duplicate"}
        down = case.fault("nlets-unavailable")
        if down is not None:
            attempt = self._attempts[ledger_id] = self._attempts.get(ledger_id, 0) + 1
            if attempt <= down.get("times", 1):
                await service.ledger.write(self._op(f"{ledger_id}:{attempt}", FAULT_CHANNEL, iaq))
                raise Problem(503, "Service Unavailable", f"NLETS is down for {mid} (scenario)")
        ops = [self._op(ledger_id, IAQ_CHANNEL, iaq, body=body)]
        if case.fault("nlets-no-answer") is None:
            query = {f: iaq["txt"][f] for f in ("nam", "dob", "sex", "pob")}
            found = service.repository.name_search(query)
            iar = self._synth.nlets_iar(iaq, mid=iar_mid(ori, mid), gmt=now, candidates=found)
            schemas.validate("nlets-iar", iar)
            due = now.timestamp() + case.timing.delay("nlets_iar").total_seconds()
            port = nlets_port(service.scenario.document, service.callback)
            action = "deliver" if port else "record"
            step = {"delay": 0.0, "action": action, "channel": IAR_CHANNEL, "message": iar}
            step.update(raw=None, copies=1, target=port)
            timer_id = f"{ledger_id}#iar"
            payload = json.dumps({"step": step, "tcn": mid, "lea": ori})
            ops.append(timer_op(id=timer_id, due=due, kind=action, payload=payload))
            await service.ledger.write(*ops)
            service.scheduler.add(due, timer_id)
        else:
            await service.ledger.write(*ops)
        self._attempts.pop(ledger_id, None)
        return answer

    def _op(self, id: str, channel: str, iaq: dict[str, Any], *, body: str | None = None) -> Any:
        fields = ledger_header(iaq)
        return message_op(
            id=id,
            direction="in",
            channel=channel,
            tot=fields["tot"],
            tcn=fields["tcn"],
            tcr=fields["tcr"],
            ori=fields["ori"],
            virtual_time=gmt(self.service.clock.now()),
            body=body if body is not None else json.dumps(iaq),
        )
