"""Faulty SIBs that route wrongly: wrong LEA, partial relays, opt-out and routing-off mistakes,
lost messages, over-eager or racy dedupe, giving up on late answers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from starlette.responses import Response

from protocol.submission import kind_of

from ..reference import is_ident
from ..store import Transaction
from ._base import Faulty, edit_relay

__all__ = [
    "DedupeRace",
    "DedupesByTot",
    "DedupesByTransaction",
    "DropsEarlyIar",
    "DropsIarField",
    "DropsLateIar",
    "DropsPhotoRefs",
    "GivesUpAtFourHours",
    "GivesUpAtOneDay",
    "GivesUpOnInbox",
    "IgnoresIdr",
    "NoInboxRetry",
    "NoSreRouting",
    "OptOutBlocksSre",
    "OptOutForgetsLateIar",
    "OptOutMatchesOnly",
    "OptOutMissesNffSre",
    "RelaysWithOwnHeader",
    "RoutesByPerson",
    "RoutesDuplicates",
    "RoutesIarWhenOff",
    "RoutesOptedOut",
    "RoutesToEveryBooker",
    "RoutesWhenOff",
    "StripsNffIdent",
    "SwallowsCorrectableErrt",
    "SwallowsErrt",
    "TrimsEncounters",
    "WrongOri",
]


class WrongOri(Faulty):
    """Routes responses to another LEA than the one that booked."""

    name, breaks = "wrong-ori", ("RTE-1", "RTE-2")

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        others = [o for o in self.profile["activated_oris"] if o != tx.ori]
        return [others[0]] if super().route_to(tx, message) else []


def _bookers(sib: Faulty, tx: Transaction) -> list[str]:
    rows = sib.store.sql(
        "SELECT ori FROM transactions WHERE biometric_key = ? ORDER BY rowid", (tx.biometric_key,)
    )
    return [str(r[0]) for r in rows]


class RoutesByPerson(Faulty):
    """Routes by the subject, to the LEA that booked that person last."""

    name, breaks = "routes-by-person", ("RTE-2",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        return _bookers(self, tx)[-1:] if super().route_to(tx, message) else []


class RoutesToEveryBooker(Faulty):
    """Routes a response to every LEA that ever booked the subject."""

    name, breaks = "routes-to-every-booker", ("RTE-2",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        return sorted(set(_bookers(self, tx))) if super().route_to(tx, message) else []


def _encounters(message: dict[str, Any]) -> list[dict[str, Any]]:
    type2 = message["type2"]
    found = type2.get("ident", type2).get("encounters")
    return found if isinstance(found, list) else []


class TrimsEncounters(Faulty):
    """Relays at most three DHS encounters (a fixed-size screen buffer)."""

    name, breaks = "trims-encounters", ("RTE-1",)

    def relay(self, raw: bytes, message: dict[str, Any]) -> bytes:
        def trim(m: dict[str, Any]) -> None:
            del _encounters(m)[3:]

        return edit_relay(raw, trim) if len(_encounters(message)) > 3 else raw


class DropsPhotoRefs(Faulty):
    """Strips the photograph references from the encounters it relays."""

    name, breaks = "drops-photo-refs", ("RTE-1",)

    def relay(self, raw: bytes, message: dict[str, Any]) -> bytes:
        def strip(m: dict[str, Any]) -> None:
            for encounter in _encounters(m):
                encounter.pop("photo", None)

        return edit_relay(raw, strip)


class DropsIarField(Faulty):
    """Relays the IAR without the removability determination (an old screen layout)."""

    name, breaks = "drops-iar-field", ("RTE-1",)

    def relay(self, raw: bytes, message: dict[str, Any]) -> bytes:
        def strip(m: dict[str, Any]) -> None:
            type2 = m["type2"]
            iar = type2.get("ident", type2).get("iar", type2 if m["type1"]["tot"] == "IAR" else {})
            iar.pop("removability", None)

        return edit_relay(raw, strip)


class StripsNffIdent(Faulty):
    """Relays the NFF additional SRE as a plain SRE, without the IDENT result inside."""

    name, breaks = "strips-nff-ident", ("NFF-3", "RTE-1")

    def relay(self, raw: bytes, message: dict[str, Any]) -> bytes:
        return edit_relay(raw, lambda m: m["type2"].pop("ident", None))


class RelaysWithOwnHeader(Faulty):
    """Relays each message under its own header (the SIB's ORI as the sender, 1.008 ORI) instead
    of relaying it unaltered."""

    name, breaks = "relays-with-own-header", ("RTE-1",)

    def relay(self, raw: bytes, message: dict[str, Any]) -> bytes:
        ori = self.profile["sib_ori"]
        return edit_relay(raw, lambda m: m["type1"].update(ori=ori))


class RoutesOptedOut(Faulty):
    """Routes IDRs and IARs to an LEA that asked not to receive them."""

    name, breaks = "routes-opted-out", ("RTE-3",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        return [tx.ori] if self.profile["message_routing"] or not is_ident(message) else []


class OptOutMatchesOnly(Faulty):
    """Holds back an opted-out LEA's match IDR/IAR but routes it the no-match IDR."""

    name, breaks = "opt-out-matches-only", ("RTE-3",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        type2 = message["type2"]
        ident = type2.get("ident", type2)
        if tx.ori in self.opted_out and ident.get("result") == "no-match":
            return [tx.ori]
        return super().route_to(tx, message)


class OptOutForgetsLateIar(Faulty):
    """Holds back an opted-out LEA's IDRs but routes it an IAR that comes on its own."""

    name, breaks = "opt-out-forgets-late-iar", ("RTE-3",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        if message["type1"]["tot"] == "IAR":
            return [tx.ori]
        return super().route_to(tx, message)


class OptOutMissesNffSre(Faulty):
    """Holds back IDR and IAR messages from an opted-out LEA, but not the NFF SRE carrying one."""

    name, breaks = "opt-out-misses-nff-sre", ("RTE-3",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        if message["type1"]["tot"] == "SRE":
            return [tx.ori]
        return super().route_to(tx, message)


class OptOutBlocksSre(Faulty):
    """Sends an opted-out LEA nothing at all, its IAFIS SRE included."""

    name, breaks = "opt-out-blocks-sre", ("RTE-6",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        return [] if tx.ori in self.opted_out else super().route_to(tx, message)


class RoutesWhenOff(Faulty):
    """Routes IDENT responses although the state does not employ message routing."""

    name, breaks, demo_profile = "routes-when-off", ("RTE-4",), "routing-off"

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        return [tx.ori]


class RoutesIarWhenOff(Faulty):
    """Without message routing holds back IDRs but routes an IAR that comes on its own."""

    name, breaks, demo_profile = "routes-iar-when-off", ("RTE-4",), "routing-off"

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        return [tx.ori] if message["type1"]["tot"] == "IAR" else super().route_to(tx, message)


class SwallowsErrt(Faulty):
    """Keeps ERRTs to itself instead of telling the LEA."""

    name, breaks = "swallows-errt", ("RTE-5",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        return [] if message["type1"]["tot"] == "ERRT" else super().route_to(tx, message)


class SwallowsCorrectableErrt(Faulty):
    """Tells the LEA of permanent ERRTs only, keeping correctable ones to itself."""

    name, breaks = "swallows-correctable-errt", ("RTE-5",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        if message["type1"]["tot"] == "ERRT" and not message["type2"]["permanent"]:
            return []
        return super().route_to(tx, message)


class NoSreRouting(Faulty):
    """Routes IDENT responses but never the plain IAFIS SRE."""

    name, breaks = "no-sre-routing", ("RTE-6",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        plain = message["type1"]["tot"] == "SRE" and not is_ident(message)
        return [] if plain else super().route_to(tx, message)


class GivesUpOnInbox(Faulty):
    """Tries an LEA inbox five times over under a second, then drops the message."""

    name, breaks = "gives-up-on-inbox", ("RTE-7",)

    async def route(self, ori: str, body: bytes, message_id: str) -> None:
        owed = self.store.owe(ori, message_id, body)
        for attempt in range(1, 6):
            if await self._route_once(owed):
                return
            await asyncio.sleep(self.route_backoff.delay(attempt))


class NoInboxRetry(Faulty):
    """Tries an LEA inbox once; what it does not take is lost."""

    name, breaks = "no-inbox-retry", ("RTE-7",)

    async def route(self, ori: str, body: bytes, message_id: str) -> None:
        await self._route_once(self.store.owe(ori, message_id, body))


class IgnoresIdr(Faulty):
    """Takes IDENT responses (IDR, IDR/IAR) but never acts on them."""

    name, breaks, demo_profile = "ignores-idr", ("TIM-1", "RTE-1"), "non-nff"

    def keep(self, tx: Transaction, message: dict[str, Any], virtual_time: datetime | None) -> bool:
        return bool(message["type1"]["tot"] != "IDR")


class _Remembers(Faulty):
    """Keeps the kind of each delivery it acts on (`Transaction.seen`), to weigh later ones."""

    def saw(self, tx: Transaction, message: dict[str, Any]) -> None:
        self.store.saw(tx, kind_of(message).removeprefix("SRE+"))


class DropsLateIar(_Remembers):
    """Drops an IAR that arrives after the IDR was returned alone."""

    name, breaks = "drops-late-iar", ("TIM-2",)

    def keep(self, tx: Transaction, message: dict[str, Any], virtual_time: datetime | None) -> bool:
        return not (message["type1"]["tot"] == "IAR" and "IDR" in tx.seen)


class _GivesUp(Faulty):
    hours = 4.0

    def keep(self, tx: Transaction, message: dict[str, Any], virtual_time: datetime | None) -> bool:
        if tx.submitted is None or virtual_time is None:
            return True
        return virtual_time - tx.submitted <= timedelta(hours=self.hours)


class GivesUpAtFourHours(_GivesUp):
    """Stops waiting for responses four hours after the submission."""

    name, breaks = "gives-up-at-4h", ("TIM-2",)


class GivesUpAtOneDay(_GivesUp):
    """Closes a transaction an hour after the IDR alone is due (25 hours after the submission)."""

    name, breaks, hours = "gives-up-at-25h", ("TIM-2",), 25.0


class RoutesDuplicates(Faulty):
    """Routes a delivery CJIS sent twice, twice."""

    name, breaks = "routes-duplicates", ("TIM-3",)

    def duplicate(self, message_id: str) -> bool:
        return False


class DedupeRace(Faulty):
    """Checks for a duplicate, then records the delivery only after routing it: two copies
    arriving at once are both routed."""

    name, breaks = "dedupe-race", ("TIM-3",)

    def duplicate(self, message_id: str) -> bool:
        rows = self.store.sql("SELECT 1 FROM deliveries WHERE message_id = ?", (message_id,))
        return bool(rows)

    async def take(
        self, tx: Transaction, message: dict[str, Any], raw: bytes, message_id: str
    ) -> Response:
        await asyncio.sleep(0.05)
        answer = await super().take(tx, message, raw, message_id)
        self.store.first_time(message_id)
        return answer


class DedupesByTransaction(Faulty):
    """Deduplicates deliveries by the transaction they answer: only the first is routed."""

    name, breaks, demo_profile = "dedupes-by-transaction", ("TIM-1", "RTE-1"), "non-nff"

    def keep(self, tx: Transaction, message: dict[str, Any], virtual_time: datetime | None) -> bool:
        return self.store.first_time(f"tcr:{tx.tcn}")


class DedupesByTot(Faulty):
    """Deduplicates by transaction and TOT: the NFF additional SRE looks like a second SRE."""

    name, breaks = "dedupes-by-tot", ("NFF-3",)

    def keep(self, tx: Transaction, message: dict[str, Any], virtual_time: datetime | None) -> bool:
        return self.store.first_time(f"{tx.tcn}|{message['type1']['tot']}")


class DropsEarlyIar(_Remembers):
    """Drops an IAR that comes before its IDR (parts out of order)."""

    name, breaks = "drops-early-iar", ("TIM-4",)

    def keep(self, tx: Transaction, message: dict[str, Any], virtual_time: datetime | None) -> bool:
        idr_seen = "IDR" in tx.seen or "IDR/IAR" in tx.seen
        return not (message["type1"]["tot"] == "IAR" and not idr_seen)
