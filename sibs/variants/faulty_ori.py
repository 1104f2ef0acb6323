"""Faulty SIBs that find the LEA by something other than the TCR, stretch an opt-out, or take
liberties with the ORI a booking came under: routing by booking number or county, opt-out by
prefix, mending malformed ORIs, and forwarding out-of-state or non-activated bookings under
another ORI."""

from __future__ import annotations

from typing import Any

from protocol.ebts import ori_county, ori_state

from ..reference import is_ident
from ..store import Transaction
from ._base import Faulty

__all__ = [
    "ErrtToLatestBooking",
    "NonActivatedUnderCountyOri",
    "NonActivatedUnderSibOri",
    "NormalisesOri",
    "OptOutByPrefix",
    "OptOutSwallowsErrt",
    "OutOfStateUnderSibOri",
    "RefusesNonActivated",
    "RefusesOutOfStateWith5xx",
    "RoutesByBookingNumber",
    "RoutesByCounty",
    "RoutesByOriPrefix",
    "TrimsOri",
]


def _known(sib: Faulty) -> list[str]:
    """The ORIs in the SIB's agency table, in the order the profile lists them."""
    return [*sib.profile["activated_oris"], *sib.profile.get("non_activated_oris", [])]


def _instead(routed: list[str], found: str) -> list[str]:
    """Where the reference routes (`routed`), with the LEA replaced by `found`."""
    return [found] if routed else []


class RoutesByBookingNumber(Faulty):
    """Finds the LEA of a response by the booking number of the submission it answers: where two
    LEAs number their bookings alike, the one that used the number last gets both answers."""

    name, breaks = "routes-by-booking-number", ("RTE-8",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        rows = self.store.sql(
            "SELECT ori FROM transactions WHERE booking_id = ? ORDER BY rowid DESC LIMIT 1",
            (tx.booking_id,),
        )
        return _instead(super().route_to(tx, message), str(rows[0][0]) if rows else tx.ori)


class ErrtToLatestBooking(Faulty):
    """Routes SREs and IDENT answers by TCR, but an ERRT to the LEA of the latest booking (an
    error screen that assumes the error is about the submission just sent)."""

    name, breaks = "errt-to-latest-booking", ("RTE-8",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        if message["type1"]["tot"] != "ERRT":
            return super().route_to(tx, message)
        rows = self.store.sql("SELECT ori FROM transactions ORDER BY rowid DESC LIMIT 1")
        return _instead(super().route_to(tx, message), str(rows[0][0]))


class RoutesByCounty(Faulty):
    """Keeps one inbox per county: a response goes to the first LEA of the booking LEA's county
    in its agency table (a county sheriff gets its town police's answers)."""

    name, breaks = "routes-by-county", ("RTE-9",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        county = [o for o in _known(self) if ori_county(o) == ori_county(tx.ori)]
        return _instead(super().route_to(tx, message), (county or [tx.ori])[0])


class RoutesByOriPrefix(Faulty):
    """Looks the LEA up by ORI prefix: the first ORI in its table whose significant characters
    (trailing zeros dropped) begin the booking ORI, so NC0100000 also takes NC0100100's answers."""

    name, breaks = "routes-by-ori-prefix", ("RTE-9",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        found = [o for o in _known(self) if tx.ori.startswith(o.rstrip("0"))]
        return _instead(super().route_to(tx, message), (found or [tx.ori])[0])


class OptOutByPrefix(Faulty):
    """Matches the opted-out list by prefix (trailing zeros dropped): NC0200000 opting out
    silences NC0200100 of its county too."""

    name, breaks = "opt-out-by-prefix", ("RTE-10",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        quiet = any(tx.ori.startswith(o.rstrip("0")) for o in self.opted_out)
        return [] if quiet and is_ident(message) else super().route_to(tx, message)


class OptOutSwallowsErrt(Faulty):
    """Holds back from an opted-out LEA its ERRTs too, as if opting out meant all of CJIS."""

    name, breaks = "opt-out-swallows-errt", ("RTE-11",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        if message["type1"]["tot"] == "ERRT" and tx.ori in self.opted_out:
            return []
        return super().route_to(tx, message)


def _mended(booking: Any, mend: Any) -> Any:
    """The booking with its ORI mended by `mend` (a string ORI only)."""
    if isinstance(booking, dict) and isinstance(booking.get("ori"), str):
        booking["ori"] = mend(booking["ori"])
    return booking


class NormalisesOri(Faulty):
    """Upper-cases the ORI and removes its blanks before validating, then forwards the booking
    under the mended ORI, one the LEA never sent."""

    name, breaks = "normalises-ori", ("ORI-1",)

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        mended = _mended(booking, lambda ori: "".join(ori.split()).upper())
        return super().booking_problems(mended)


class TrimsOri(Faulty):
    """Trims blanks around the ORI (every text field is trimmed on intake) and forwards it."""

    name, breaks = "trims-ori", ("ORI-1",)

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        return super().booking_problems(_mended(booking, str.strip))


def _outside(sib: Faulty, booking: dict[str, Any]) -> bool:
    return bool(ori_state(booking["ori"]) != sib.profile["state"])


def _not_activated(sib: Faulty, booking: dict[str, Any]) -> bool:
    return not _outside(sib, booking) and booking["ori"] not in sib.profile["activated_oris"]


def _under(message: dict[str, Any], ori: str) -> dict[str, Any]:
    """The submission sent under `ori`: header and CRI."""
    message["type1"]["ori"] = ori
    message["type2"]["cri"] = [ori]
    return message


class RefusesOutOfStateWith5xx(Faulty):
    """Looks an ORI up in its state's agency table and fails (HTTP 500) when it is not there."""

    name, breaks = "refuses-out-of-state-5xx", ("ORI-2",)

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        found = super().booking_problems(booking)
        if any(e["rule"] == "state" for e in found):
            raise LookupError(f"ORI {booking['ori']} is not in the agency table")
        return found


class OutOfStateUnderSibOri(Faulty):
    """Forwards a booking from another state, under the SIB's own ORI as the contributor."""

    name, breaks = "out-of-state-under-sib-ori", ("ORI-2",)

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        return [e for e in super().booking_problems(booking) if e["rule"] != "state"]

    def submission(
        self, booking: dict[str, Any], tot: str, tcn: str, fbi: str | None
    ) -> dict[str, Any]:
        message = super().submission(booking, tot, tcn, fbi)
        return _under(message, self.profile["sib_ori"]) if _outside(self, booking) else message


class RefusesNonActivated(Faulty):
    """Refuses (4xx) a booking from an in-state ORI not activated for Interoperability, as if
    Interoperability gated IAFIS too."""

    name, breaks = "refuses-non-activated", ("ORI-3",)

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        found = super().booking_problems(booking)
        if not found and _not_activated(self, booking):
            message = f"ORI {booking['ori']} is not activated for Interoperability"
            found.append({"path": "$.ori", "rule": "activated", "message": message})
        return found


class NonActivatedUnderSibOri(Faulty):
    """Sends a non-activated LEA's booking under the SIB's own ORI (its catch-all contributor)."""

    name, breaks = "non-activated-under-sib-ori", ("ORI-3",)

    def submission(
        self, booking: dict[str, Any], tot: str, tcn: str, fbi: str | None
    ) -> dict[str, Any]:
        message = super().submission(booking, tot, tcn, fbi)
        if not _not_activated(self, booking):
            return message
        return _under(message, self.profile["sib_ori"])


class NonActivatedUnderCountyOri(Faulty):
    """Sends a non-activated sub-agency's booking under the activated ORI of its county, so that
    IDENT is searched as if the agency had said 'Go'."""

    name, breaks = "non-activated-under-county-ori", ("ORI-3",)

    def submission(
        self, booking: dict[str, Any], tot: str, tcn: str, fbi: str | None
    ) -> dict[str, Any]:
        message = super().submission(booking, tot, tcn, fbi)
        county = ori_county(booking["ori"])
        found = [o for o in self.profile["activated_oris"] if ori_county(o) == county]
        if not _not_activated(self, booking) or not found:
            return message
        return _under(message, found[0])
