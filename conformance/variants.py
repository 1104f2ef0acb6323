"""Faulty SIBs: each breaks one rule of the reference SIB, so the suite can show it catches it."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from .sib import ReferenceSib, Transaction

__all__ = [
    "VARIANTS",
    "CarNotCpi",
    "CarWithSibOri",
    "CpiInNonNffState",
    "CpiWithoutFbi",
    "CrashesOnMalformed",
    "CrashesOnOddBooking",
    "DropsEarlyIar",
    "DropsLateIar",
    "ForwardsMalformedBooking",
    "GivesUpAtFourHours",
    "IgnoresIdr",
    "NoRetry",
    "RejectsExtraSre",
    "ResubmitsAfterErrt",
    "ReusesTcns",
    "RoutesDuplicates",
    "RoutesOptedOut",
    "RoutesWhenOff",
    "SwallowsErrt",
    "WrongOri",
    "sib_class",
]


class WrongOri(ReferenceSib):
    """Routes responses to another LEA than the one that booked."""

    name = "wrong-ori"
    demo_profile = "nff"
    breaks = ("RTE-1", "RTE-2")

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        targets = super().route_to(tx, message)
        others = [o for o in self.profile["activated_oris"] if o != tx.ori]
        return [others[0] if others else tx.ori[:-1] + "9"] if targets else []


class CarNotCpi(ReferenceSib):
    """Sends a CAR for a repeat arrest in an NFF state."""

    name = "car-not-cpi"
    demo_profile = "nff"
    breaks = ("NFF-1",)

    def tot_for(self, booking: dict[str, Any]) -> str:
        return "CAR"


class CpiWithoutFbi(ReferenceSib):
    """Sends a CPI that lacks the FBI number."""

    name = "cpi-without-fbi"
    demo_profile = "nff"
    breaks = ("SUB-1", "NFF-1")

    def submission(
        self, booking: dict[str, Any], tot: str, tcn: str, fbi: str | None
    ) -> dict[str, Any]:
        message = super().submission(booking, tot, tcn, fbi)
        if tot == "CPI":
            message["type2"].pop("fbi", None)
        return message


class DropsLateIar(ReferenceSib):
    """Drops an IAR that arrives after the IDR was returned alone."""

    name = "drops-late-iar"
    demo_profile = "nff"
    breaks = ("TIM-2",)

    def keep(self, tx: Transaction, message: dict[str, Any], virtual_time: datetime | None) -> bool:
        return not (message["type1"]["tot"] == "IAR" and "IDR" in tx.seen)


class GivesUpAtFourHours(ReferenceSib):
    """Stops waiting for responses four hours after the submission."""

    name = "gives-up-at-4h"
    demo_profile = "nff"
    breaks = ("TIM-2",)

    def keep(self, tx: Transaction, message: dict[str, Any], virtual_time: datetime | None) -> bool:
        if tx.submitted is None or virtual_time is None:
            return True
        return virtual_time - tx.submitted <= timedelta(hours=4)


class RoutesOptedOut(ReferenceSib):
    """Routes IDRs and IARs to an LEA that asked not to receive them."""

    name = "routes-opted-out"
    demo_profile = "nff"
    breaks = ("RTE-3",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        return [tx.ori] if self.profile["message_routing"] else []


class RoutesDuplicates(ReferenceSib):
    """Routes a delivery CJIS sent twice, twice."""

    name = "routes-duplicates"
    demo_profile = "nff"
    breaks = ("TIM-3",)

    def duplicate(self, message_id: str) -> bool:
        return False


class ResubmitsAfterErrt(ReferenceSib):
    """Sends the same submission again, unchanged but for the TCN, after a permanent ERRT."""

    name = "resubmits-after-errt"
    demo_profile = "nff"
    breaks = ("ROB-2",)

    async def after_errt(self, tx: Transaction, errt: dict[str, Any]) -> None:
        again = copy.deepcopy(tx.body)
        again["type1"]["tcn"] = self.next_tcn()
        await self.send_to_cjis(again)


class CrashesOnMalformed(ReferenceSib):
    """Stops working after a delivery that is not JSON or breaks its schema."""

    name = "crashes-on-malformed"
    demo_profile = "nff"
    breaks = ("ROB-3",)
    broken = False

    def survive(self, problem: str) -> None:
        self.broken = True

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        if self.broken:
            raise RuntimeError(f"{self.name}: down since a malformed delivery")
        return super().booking_problems(booking)


class ReusesTcns(ReferenceSib):
    """Gives every submission of a day the same TCN."""

    name = "reuses-tcns"
    demo_profile = "nff"
    breaks = ("SUB-3",)

    def next_tcn(self) -> str:
        return f"{self.profile['sib_ori']}-{self._run}-00000001"


class CarWithSibOri(ReferenceSib):
    """Sends CARs under the SIB's own ORI instead of the booking LEA's."""

    name = "car-with-sib-ori"
    demo_profile = "nff"
    breaks = ("SUB-2",)

    def submission(
        self, booking: dict[str, Any], tot: str, tcn: str, fbi: str | None
    ) -> dict[str, Any]:
        message = super().submission(booking, tot, tcn, fbi)
        message["type1"]["ori"] = self.profile["sib_ori"]
        return message


class ForwardsMalformedBooking(ReferenceSib):
    """Forwards a booking that breaks its schema instead of refusing it."""

    name = "forwards-malformed-booking"
    demo_profile = "nff"
    breaks = ("SUB-4",)

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        found = super().booking_problems(booking)
        return [e for e in found if e["rule"] not in ("pattern", "format", "enum")]


class CpiInNonNffState(ReferenceSib):
    """Sends a CPI for a repeat arrest although the state is not in the NFF."""

    name = "cpi-outside-nff"
    demo_profile = "non-nff"
    breaks = ("NFF-2",)

    def tot_for(self, booking: dict[str, Any]) -> str:
        return "CPI" if booking["prior_arrest_in_state"] else "CAR"


class RejectsExtraSre(ReferenceSib):
    """Refuses the NFF states' additional SRE (the one carrying the IDENT result)."""

    name = "rejects-extra-sre"
    demo_profile = "nff"
    breaks = ("NFF-3",)

    def keep(self, tx: Transaction, message: dict[str, Any], virtual_time: datetime | None) -> bool:
        return not (message["type1"]["tot"] == "SRE" and "ident" in message["type2"])


class RoutesWhenOff(ReferenceSib):
    """Routes responses although the state does not employ message routing."""

    name = "routes-when-off"
    demo_profile = "routing-off"
    breaks = ("RTE-4",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        return [tx.ori]


class SwallowsErrt(ReferenceSib):
    """Keeps ERRTs to itself instead of telling the LEA."""

    name = "swallows-errt"
    demo_profile = "nff"
    breaks = ("RTE-5",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        return [] if message["type1"]["tot"] == "ERRT" else super().route_to(tx, message)


class DropsEarlyIar(ReferenceSib):
    """Drops an IAR that comes before its IDR (parts out of order)."""

    name = "drops-early-iar"
    demo_profile = "nff"
    breaks = ("TIM-4",)

    def keep(self, tx: Transaction, message: dict[str, Any], virtual_time: datetime | None) -> bool:
        idr_seen = "IDR" in tx.seen or "IDR/IAR" in tx.seen
        return not (message["type1"]["tot"] == "IAR" and not idr_seen)


class NoRetry(ReferenceSib):
    """Gives up on the first CJIS outage instead of sending the same TCN again."""

    name = "no-retry"
    demo_profile = "nff"
    breaks = ("ROB-1",)

    def retries_outage(self, status: int | None) -> bool:
        return False


class CrashesOnOddBooking(ReferenceSib):
    """Answers 500 to a valid booking with aliases (an unhandled case)."""

    name = "crashes-on-odd-booking"
    demo_profile = "nff"
    breaks = ("ROB-4",)

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        person = booking.get("person") if isinstance(booking, dict) else None
        if isinstance(person, dict) and person.get("aka"):
            raise KeyError("aka")
        return super().booking_problems(booking)


class IgnoresIdr(ReferenceSib):
    """Takes IDENT responses (IDR, IDR/IAR) but never acts on them."""

    name = "ignores-idr"
    demo_profile = "non-nff"
    breaks = ("TIM-1", "RTE-1")

    def keep(self, tx: Transaction, message: dict[str, Any], virtual_time: datetime | None) -> bool:
        return bool(message["type1"]["tot"] != "IDR")


_ALL: tuple[type[ReferenceSib], ...] = (
    WrongOri,
    CarNotCpi,
    CpiWithoutFbi,
    DropsLateIar,
    GivesUpAtFourHours,
    RoutesOptedOut,
    RoutesDuplicates,
    ResubmitsAfterErrt,
    CrashesOnMalformed,
    ReusesTcns,
    CarWithSibOri,
    ForwardsMalformedBooking,
    CpiInNonNffState,
    RejectsExtraSre,
    RoutesWhenOff,
    SwallowsErrt,
    DropsEarlyIar,
    NoRetry,
    CrashesOnOddBooking,
    IgnoresIdr,
)
VARIANTS: dict[str, type[ReferenceSib]] = {cls.name: cls for cls in _ALL}
"""Every faulty variant by name."""


def sib_class(name: str) -> type[ReferenceSib]:
    """The reference SIB (`reference`) or a faulty variant by name."""
    if name == ReferenceSib.name:
        return ReferenceSib
    try:
        return VARIANTS[name]
    except KeyError:
        known = ", ".join([ReferenceSib.name, *VARIANTS])
        raise ValueError(f"no SIB variant named {name!r}; known: {known}") from None
