"""Faulty SIBs that decide CAR or CPI wrongly, fill a CPI from the wrong arrest or person, or keep
the FBI-number file under the wrong key or not at all: defects measured in switches written from
the documents by other hands (docs/sib-contract.md, "The CAR-or-CPI decision")."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from protocol.ebts import parse_ebts_date

from ..store import Transaction
from ._base import Faulty

__all__ = [
    "CarWhenBookingHasFbi",
    "CarWhenFbiUnknown",
    "CpiChargesOfFirstArrest",
    "CpiCriOfFirstLea",
    "CpiDaiIsNcic",
    "CpiDoaFromOffenseDate",
    "CpiDoaIsSendDate",
    "CpiDoaOfFirstArrest",
    "CpiNameFromFbiRecord",
    "CpiNameOfFirstBooking",
    "CpiOriOfFirstLea",
    "CpiReusesFirstTcn",
    "CpiWhenBookingHasFbi",
    "FbiByNameDobLookup",
    "FbiFileInMemory",
    "FbiKeyedByNameDob",
    "FbiOnlyFromIdentSre",
    "HoldsUnknownRepeat",
    "IgnoresBookingFbi",
    "RefusesRepeatOutsideNff",
]


def _first_car(sib: Faulty, booking: dict[str, Any]) -> dict[str, Any] | None:
    """The subject's first CAR this SIB sent (by the booking's prints), as sent."""
    rows = sib.store.sql(
        "SELECT body FROM transactions WHERE biometric_key = ? AND tot = 'CAR' ORDER BY rowid"
        " LIMIT 1",
        (booking["prints"]["biometric_key"],),
    )
    found: dict[str, Any] | None = json.loads(rows[0][0]) if rows else None
    return found


class _CpiEdits(Faulty):
    """Builds the CPI, then fills some of it from the subject's first CAR (a variant's defect)."""

    def edit_cpi(self, cpi: dict[str, Any], first: dict[str, Any], booking: dict[str, Any]) -> None:
        """Change the CPI using the first CAR."""

    def submission(
        self, booking: dict[str, Any], tot: str, tcn: str, fbi: str | None
    ) -> dict[str, Any]:
        message = super().submission(booking, tot, tcn, fbi)
        first = _first_car(self, booking) if tot == "CPI" else None
        if first is not None:
            self.edit_cpi(message, first, booking)
        return message


class CpiDoaOfFirstArrest(_CpiEdits):
    """Copies the date of arrest into a CPI from the subject's first arrest on file."""

    name, breaks = "cpi-doa-of-first-arrest", ("CPI-2",)

    def edit_cpi(self, cpi: dict[str, Any], first: dict[str, Any], booking: dict[str, Any]) -> None:
        cpi["type2"]["doa"] = first["type2"]["doa"]


class CpiChargesOfFirstArrest(_CpiEdits):
    """Sends the charges of the subject's first arrest in a CPI, with this arrest's date."""

    name, breaks = "cpi-charges-of-first-arrest", ("CPI-2",)

    def edit_cpi(self, cpi: dict[str, Any], first: dict[str, Any], booking: dict[str, Any]) -> None:
        cpi["type2"]["asl"] = first["type2"]["asl"]


class CpiNameOfFirstBooking(_CpiEdits):
    """Names the subject in a CPI as the first booking did, not as this one booked them."""

    name, breaks = "cpi-name-of-first-booking", ("CPI-1",)

    def edit_cpi(self, cpi: dict[str, Any], first: dict[str, Any], booking: dict[str, Any]) -> None:
        cpi["type2"]["nam"] = first["type2"]["nam"]


class CpiCriOfFirstLea(_CpiEdits):
    """Copies the controlling agency (CRI) of a CPI from the first arrest's CAR."""

    name, breaks = "cpi-cri-of-first-lea", ("CPI-3",)

    def edit_cpi(self, cpi: dict[str, Any], first: dict[str, Any], booking: dict[str, Any]) -> None:
        cpi["type2"]["cri"] = first["type2"]["cri"]


class CpiOriOfFirstLea(_CpiEdits):
    """Sends a CPI under the ORI of the LEA that booked the subject's first arrest."""

    name, breaks = "cpi-ori-of-first-lea", ("CPI-3",)

    def edit_cpi(self, cpi: dict[str, Any], first: dict[str, Any], booking: dict[str, Any]) -> None:
        cpi["type1"]["ori"] = first["type1"]["ori"]
        cpi["type2"]["cri"] = first["type2"]["cri"]


class CpiReusesFirstTcn(_CpiEdits):
    """Sends a CPI under the TCN of the subject's first CAR (the same case, it reasons)."""

    name, breaks = "cpi-reuses-first-tcn", ("CPI-3",)

    def edit_cpi(self, cpi: dict[str, Any], first: dict[str, Any], booking: dict[str, Any]) -> None:
        cpi["type1"]["tcn"] = first["type1"]["tcn"]


class CpiDaiIsNcic(_CpiEdits):
    """Addresses a CPI to the NCIC/III ORI (CJIS receives a CPI via NCIC/III, SOP 2.1.2.2)."""

    name, breaks = "cpi-dai-is-ncic", ("CPI-3",)

    def edit_cpi(self, cpi: dict[str, Any], first: dict[str, Any], booking: dict[str, Any]) -> None:
        cpi["type1"]["dai"] = "DCFBIWA00"


class CpiDoaIsSendDate(_CpiEdits):
    """Puts the date a CPI is sent where its date of arrest goes (CARs are right)."""

    name, breaks = "cpi-doa-is-send-date", ("CPI-2",)

    def edit_cpi(self, cpi: dict[str, Any], first: dict[str, Any], booking: dict[str, Any]) -> None:
        cpi["type2"]["doa"] = cpi["type1"]["dat"]


class CpiDoaFromOffenseDate(_CpiEdits):
    """Takes a CPI's date of arrest from the first charge's date of offense."""

    name, breaks = "cpi-doa-from-offense-date", ("CPI-2",)

    def edit_cpi(self, cpi: dict[str, Any], first: dict[str, Any], booking: dict[str, Any]) -> None:
        doo = cpi["type2"]["asl"][0].get("doo")
        if doo and parse_ebts_date(doo) <= parse_ebts_date(cpi["type2"]["doa"]):
            cpi["type2"]["doa"] = doo


class CpiNameFromFbiRecord(Faulty):
    """Names the subject in a CPI as the FBI record does (the name the SRE gave), not as booked."""

    name, breaks = "cpi-name-from-fbi-record", ("CPI-1",)

    def learn(self, tx: Transaction, sre: dict[str, Any]) -> None:
        super().learn(tx, sre)
        if "nam" in sre["type2"] and tx.biometric_key:
            self.store.set_setting(f"nam:{tx.biometric_key}", sre["type2"]["nam"])

    def submission(
        self, booking: dict[str, Any], tot: str, tcn: str, fbi: str | None
    ) -> dict[str, Any]:
        message = super().submission(booking, tot, tcn, fbi)
        filed = self.store.setting(f"nam:{booking['prints']['biometric_key']}")
        if tot == "CPI" and filed:
            message["type2"]["nam"] = filed
        return message


class CarWhenBookingHasFbi(Faulty):
    """Sends a CAR for a repeat arrest whose booking carries the FBI number (it reads the number
    as "the LEA has the record; let IAFIS confirm it")."""

    name, breaks = "car-when-booking-has-fbi", ("NFF-5",)

    def tot_for(self, booking: dict[str, Any]) -> str:
        return "CAR" if "fbi" in booking else super().tot_for(booking)


class CpiWhenBookingHasFbi(Faulty):
    """Sends a CPI whenever an FBI number is known from the booking, first arrests in the state
    included (a subject the FBI knows from another state)."""

    name, breaks = "cpi-when-booking-has-fbi", ("NFF-4",)

    def tot_for(self, booking: dict[str, Any]) -> str:
        return "CPI" if self.profile["nff"] and "fbi" in booking else super().tot_for(booking)


class CarWhenFbiUnknown(Faulty):
    """Falls back to a CAR for a repeat arrest whose FBI number it does not have."""

    name, breaks = "car-when-fbi-unknown", ("NFF-6",)

    def tot_for(self, booking: dict[str, Any]) -> str:
        tot = super().tot_for(booking)
        return "CAR" if tot == "CPI" and self.fbi_for(booking) is None else tot


class HoldsUnknownRepeat(Faulty):
    """Takes a repeat arrest with no FBI number (202) and holds it for a number that never
    comes: the LEA is never told, CJIS never hears."""

    name, breaks = "holds-unknown-repeat", ("NFF-6",)

    async def _bookings(self, request: Request) -> Response:
        answer = await super()._bookings(request)
        if answer.status_code == 422:
            return JSONResponse({"status": "held for the FBI number"}, 202)
        return answer


class RefusesRepeatOutsideNff(Faulty):
    """Refuses (422) a repeat arrest with no FBI number known, in a state outside the NFF too."""

    name, breaks, demo_profile = "refuses-repeat-outside-nff", ("NFF-2",), "non-nff"

    def tot_for(self, booking: dict[str, Any]) -> str:
        return "CPI" if booking["prior_arrest_in_state"] and not self.fbi_for(booking) else "CAR"


class IgnoresBookingFbi(Faulty):
    """Trusts only its own file: a repeat arrest whose number came on the booking is refused."""

    name, breaks = "ignores-booking-fbi", ("NFF-5",)

    def fbi_for(self, booking: dict[str, Any]) -> str | None:
        return self.store.fbi_of(booking["prints"]["biometric_key"])


class FbiKeyedByNameDob(Faulty):
    """Files FBI numbers under name and date of birth: people sharing both share one number."""

    name, breaks = "fbi-keyed-by-name-dob", ("FBI-2",)

    def learn(self, tx: Transaction, sre: dict[str, Any]) -> None:
        type2 = tx.body["type2"]
        self.store.set_fbi(f"{type2['nam']}|{type2['dob']}", sre["type2"]["fbi"])

    def fbi_for(self, booking: dict[str, Any]) -> str | None:
        person = booking["person"]
        return booking.get("fbi") or self.store.fbi_of(f"{person['nam']}|{person['dob']}")


class FbiByNameDobLookup(Faulty):
    """Files numbers by prints but finds a repeat arrest's prints by name and date of birth (the
    latest transaction of that name wins)."""

    name, breaks = "fbi-by-name-dob-lookup", ("FBI-2",)

    def fbi_for(self, booking: dict[str, Any]) -> str | None:
        person = booking["person"]
        rows = self.store.sql(
            "SELECT biometric_key FROM transactions WHERE json_extract(body, '$.type2.nam') = ?"
            " AND json_extract(body, '$.type2.dob') = ? ORDER BY rowid DESC LIMIT 1",
            (person["nam"], person["dob"]),
        )
        key = rows[0][0] if rows else booking["prints"]["biometric_key"]
        return booking.get("fbi") or self.store.fbi_of(str(key))


class FbiOnlyFromIdentSre(Faulty):
    """Files the FBI number only from the NFF additional SRE (the one carrying the IDENT result),
    not from the IAFIS SRE; a repeat arrest before that arrives finds none."""

    name, breaks = "fbi-only-from-ident-sre", ("FBI-1",)

    def learn(self, tx: Transaction, sre: dict[str, Any]) -> None:
        if "ident" in sre["type2"]:
            super().learn(tx, sre)


class FbiFileInMemory(Faulty):
    """Keeps the FBI-number file in memory: a restart forgets every subject."""

    name, breaks = "fbi-file-in-memory", ("FBI-3",)
    filed: dict[str, str]

    def learn(self, tx: Transaction, sre: dict[str, Any]) -> None:
        if "fbi" in sre["type2"] and tx.biometric_key:
            self.__dict__.setdefault("filed", {})[tx.biometric_key] = sre["type2"]["fbi"]

    def fbi_for(self, booking: dict[str, Any]) -> str | None:
        filed: dict[str, str] = self.__dict__.get("filed", {})
        return booking.get("fbi") or filed.get(booking["prints"]["biometric_key"])
