"""Faulty SIBs on the LEA's NLETS path (SOP 2.2.7, 3.1.4): relaying an LEA's name-based IAQ under
the switch's own ORI, sending it before the no-match IDR or for agencies that did not ask,
answering the wrong LEA or none, keeping automated blind-booking IAQs, and querying by name in
place of fingerprints."""

from __future__ import annotations

import copy
from typing import Any

from protocol.ebts import ori_county
from protocol.nlets import blind_booking

from ._base import Faulty

__all__ = [
    "NletsBeforeNoMatch",
    "NletsBlindBooking",
    "NletsByNameOnly",
    "NletsDropsIar",
    "NletsIarToEveryLea",
    "NletsIarToWrongLea",
    "NletsQueriesForCounty",
    "NletsUnderSibOri",
]


def _neighbour(sib: Faulty, ori: str) -> str:
    """Another activated LEA: one of the same county where there is one, else the next listed."""
    listed: list[str] = [o for o in sib.profile["activated_oris"] if o != ori]
    same = [o for o in listed if ori_county(o) == ori_county(ori)]
    return (same or listed or [ori])[0]


class NletsUnderSibOri(Faulty):
    """Relays an LEA's name-based IAQ under the switch's own ORI (as it sends its own
    administrative traffic): LESC answers the switch, and the query no longer says who asked."""

    name, breaks = "nlets-under-sib-ori", ("NLT-1",)

    def nlets_outgoing(self, iaq: dict[str, Any]) -> list[dict[str, Any]]:
        relayed = copy.deepcopy(iaq)
        relayed["header"]["ori"] = self.profile["sib_ori"]
        return [relayed]


class NletsIarToWrongLea(Faulty):
    """Routes LESC's name-based IAR by the county of the ORI it names, to the county's first
    listed agency (or the next LEA): the LEA that asked never gets it."""

    name, breaks = "nlets-iar-to-wrong-lea", ("NLT-2",)

    def nlets_route_to(self, iar: dict[str, Any], asked_by: str | None) -> list[str]:
        return [_neighbour(self, asked_by)] if asked_by else []


class NletsIarToEveryLea(Faulty):
    """Broadcasts LESC's name-based IAR to every activated LEA, as a state bulletin."""

    name, breaks = "nlets-iar-to-every-lea", ("NLT-2",)

    def nlets_route_to(self, iar: dict[str, Any], asked_by: str | None) -> list[str]:
        return list(self.profile["activated_oris"]) if asked_by else []


class NletsDropsIar(Faulty):
    """Relays IAQs to LESC but has no route for the answers: LESC's IAR ends at the switch."""

    name, breaks = "nlets-drops-iar", ("NLT-2",)

    def nlets_route_to(self, iar: dict[str, Any], asked_by: str | None) -> list[str]:
        return []


class NletsBeforeNoMatch(Faulty):
    """Relays an LEA's IAQ the moment it comes, though the transaction it names has no IDENT
    result yet: LESC is queried by name before the no-match IDR (or beside a match's own IAQ)."""

    name, breaks = "nlets-before-no-match", ("NLT-3",)

    def nlets_waits(self, iaq: dict[str, Any]) -> str | None:
        return None


class NletsQueriesForCounty(Faulty):
    """Fans an LEA's name-based IAQ out to another agency of its county as well (a county-wide
    query), under that agency's ORI: LESC gets a query nobody there sent."""

    name, breaks = "nlets-queries-for-county", ("NLT-4",)

    def nlets_outgoing(self, iaq: dict[str, Any]) -> list[dict[str, Any]]:
        extra = copy.deepcopy(iaq)
        extra["header"]["ori"] = _neighbour(self, iaq["header"]["ori"])
        extra["header"]["mid"] = f"{iaq['header']['mid'][:38]}-C"
        return [iaq, extra]


class NletsBlindBooking(Faulty):
    """Keeps the automated blind-booking IAQ for every LEA: each booking whose place of birth is
    unknown or outside the United States is queried by name as well (SOP 2.2.7 retires this)."""

    name, breaks = "nlets-blind-booking", ("NLT-5",)

    def blind_iaq(self, booking: dict[str, Any]) -> bool:
        return blind_booking(booking["person"]["pob"])


class NletsByNameOnly(Faulty):
    """Sends a booking whose place of birth is unknown to LESC by name in place of fingerprints
    (the old blind-booking screen), so no CAR goes to CJIS for it."""

    name, breaks = "nlets-by-name-only", ("NLT-6",)

    def by_name_only(self, booking: dict[str, Any]) -> bool:
        return bool(booking["person"]["pob"] == "XX")
