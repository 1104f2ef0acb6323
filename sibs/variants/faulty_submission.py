"""Faulty SIBs that get the submission to CJIS wrong: header, subject, TCNs, NFF, retries."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..store import Transaction
from ._base import Faulty

__all__ = [
    "AcceptsEmptyCharges",
    "CarNotCpi",
    "CarWithSibOri",
    "CpiAnswersToFirstLea",
    "CpiFirstChargeOnly",
    "CpiInNonNffState",
    "CpiUnderSibOri",
    "CpiWithFirstArrestCharges",
    "CpiWithoutFbi",
    "DoaIsSendDate",
    "DropsAliases",
    "FbiFromLatestSre",
    "FbiKeyedByLea",
    "FirstChargeOnly",
    "ForwardsMalformedBooking",
    "IgnoresSrfI",
    "RefusesWithoutNamingField",
    "ReusesTcns",
    "SexAsWord",
    "TcnFromClock",
    "TcnPerLeaCounter",
    "WrongDai",
]


class _Edits(Faulty):
    def edit(self, message: dict[str, Any], booking: dict[str, Any]) -> None:
        """Change the submission (a variant's defect)."""

    def submission(
        self, booking: dict[str, Any], tot: str, tcn: str, fbi: str | None
    ) -> dict[str, Any]:
        message = super().submission(booking, tot, tcn, fbi)
        self.edit(message, booking)
        return message


class CarWithSibOri(_Edits):
    """Sends CARs under the SIB's own ORI instead of the booking LEA's."""

    name, breaks = "car-with-sib-ori", ("SUB-2",)

    def edit(self, message: dict[str, Any], booking: dict[str, Any]) -> None:
        message["type1"]["ori"] = self.profile["sib_ori"]


class WrongDai(_Edits):
    """Addresses submissions to the SIB's own ORI instead of the DAI of CJIS."""

    name, breaks = "wrong-dai", ("SUB-2",)

    def edit(self, message: dict[str, Any], booking: dict[str, Any]) -> None:
        message["type1"]["dai"] = self.profile["sib_ori"]


class DoaIsSendDate(_Edits):
    """Puts the date the CAR is sent where the date of arrest goes."""

    name, breaks = "doa-is-send-date", ("SUB-2",)

    def edit(self, message: dict[str, Any], booking: dict[str, Any]) -> None:
        message["type2"]["doa"] = message["type1"]["dat"]


class FirstChargeOnly(_Edits):
    """Sends only the first of the booking's charges."""

    name, breaks = "first-charge-only", ("SUB-5",)

    def edit(self, message: dict[str, Any], booking: dict[str, Any]) -> None:
        message["type2"]["asl"] = message["type2"]["asl"][:1]


class DropsAliases(_Edits):
    """Leaves the subject's aliases out of the CAR."""

    name, breaks = "drops-aliases", ("SUB-5",)

    def edit(self, message: dict[str, Any], booking: dict[str, Any]) -> None:
        message["type2"].pop("aka", None)


class SexAsWord(_Edits):
    """Writes the sex code as a word (MALE) instead of the EBTS code."""

    name, breaks = "sex-as-word", ("SUB-1", "SUB-5")

    def edit(self, message: dict[str, Any], booking: dict[str, Any]) -> None:
        if "sex" in message["type2"]:
            words = {"M": "MALE", "F": "FEMALE"}
            message["type2"]["sex"] = words.get(message["type2"]["sex"], "UNKNOWN")


class CpiWithoutFbi(_Edits):
    """Sends a CPI that lacks the FBI number."""

    name, breaks = "cpi-without-fbi", ("SUB-1", "NFF-1")

    def edit(self, message: dict[str, Any], booking: dict[str, Any]) -> None:
        if message["type1"]["tot"] == "CPI":
            message["type2"].pop("fbi", None)


class CpiFirstChargeOnly(_Edits):
    """Sends only the first instant charge in a CPI."""

    name, breaks = "cpi-first-charge-only", ("NFF-1",)

    def edit(self, message: dict[str, Any], booking: dict[str, Any]) -> None:
        if message["type1"]["tot"] == "CPI":
            message["type2"]["asl"] = message["type2"]["asl"][:1]


class CpiUnderSibOri(_Edits):
    """Sends CPIs under the SIB's own ORI (the file-maintenance habit) instead of the LEA's."""

    name, breaks = "cpi-under-sib-ori", ("NFF-1",)

    def edit(self, message: dict[str, Any], booking: dict[str, Any]) -> None:
        if message["type1"]["tot"] == "CPI":
            message["type1"]["ori"] = self.profile["sib_ori"]


class CpiWithFirstArrestCharges(_Edits):
    """Fills a CPI from the subject's first arrest on file: its charges and date of arrest."""

    name, breaks = "cpi-with-first-arrest-charges", ("NFF-1",)

    def edit(self, message: dict[str, Any], booking: dict[str, Any]) -> None:
        if message["type1"]["tot"] != "CPI":
            return
        rows = self.store.sql(
            "SELECT body FROM transactions WHERE biometric_key = ? AND tot = 'CAR' LIMIT 1",
            (booking["prints"]["biometric_key"],),
        )
        if rows:
            first = json.loads(rows[0][0])["type2"]
            message["type2"].update(asl=first["asl"], doa=first["doa"])


class ReusesTcns(Faulty):
    """Gives every submission the same TCN."""

    name, breaks = "reuses-tcns", ("SUB-3",)

    def next_tcn(self) -> str:
        return f"{self.profile['sib_ori']}-{self.store.run}-00000001"


class TcnFromClock(Faulty):
    """Makes the TCN from the wall clock's second: bookings in the same second share it."""

    name, breaks = "tcn-from-clock", ("SUB-3",)

    def next_tcn(self) -> str:
        return f"{self.profile['sib_ori']}-{self.store.run}-{int(time.time()) % 10**8:08d}"


class TcnPerLeaCounter(Faulty):
    """Counts TCNs per LEA but prefixes them with the SIB's ORI: two LEAs' bookings collide."""

    name, breaks = "tcn-per-lea-counter", ("SUB-3",)
    counts: dict[str, int]

    def submission(
        self, booking: dict[str, Any], tot: str, tcn: str, fbi: str | None
    ) -> dict[str, Any]:
        counts = self.__dict__.setdefault("counts", {})
        counts[booking["ori"]] = counts.get(booking["ori"], 0) + 1
        tcn = f"{self.profile['sib_ori']}-{self.store.run}-{counts[booking['ori']]:08d}"
        return super().submission(booking, tot, tcn, fbi)


class ForwardsMalformedBooking(Faulty):
    """Forwards a booking that breaks its schema instead of refusing it."""

    name, breaks = "forwards-malformed-booking", ("SUB-4",)

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        found = super().booking_problems(booking)
        return [e for e in found if e["rule"] not in ("pattern", "format", "enum")]


class AcceptsEmptyCharges(Faulty):
    """Forwards a booking without charges: it checks each charge, not that there is one."""

    name, breaks = "accepts-empty-charges", ("SUB-4",)

    def booking_problems(self, booking: Any) -> list[dict[str, str]]:
        return [e for e in super().booking_problems(booking) if e["rule"] != "minItems"]


class RefusesWithoutNamingField(Faulty):
    """Refuses a malformed booking with a bare 400 that names no field."""

    name, breaks = "refuses-without-naming-field", ("SUB-4",)

    async def _bookings(self, request: Request) -> Response:
        answer = await super()._bookings(request)
        if answer.status_code == 400:
            return JSONResponse({"error": "invalid request"}, 400)
        return answer


class CarNotCpi(Faulty):
    """Sends a CAR for a repeat arrest in an NFF state."""

    name, breaks = "car-not-cpi", ("NFF-1",)

    def tot_for(self, booking: dict[str, Any]) -> str:
        return "CAR"


class CpiInNonNffState(Faulty):
    """Sends a CPI for a repeat arrest although the state is not in the NFF."""

    name, breaks, demo_profile = "cpi-outside-nff", ("NFF-2",), "non-nff"

    def tot_for(self, booking: dict[str, Any]) -> str:
        return "CPI" if booking["prior_arrest_in_state"] else "CAR"


class FbiFromLatestSre(Faulty):
    """Puts the FBI number of the latest SRE into a CPI, whoever it was about."""

    name, breaks = "fbi-from-latest-sre", ("NFF-1",)

    def learn(self, tx: Transaction, sre: dict[str, Any]) -> None:
        self.store.set_setting("latest-fbi", sre["type2"]["fbi"])

    def fbi_for(self, booking: dict[str, Any]) -> str | None:
        return self.store.setting("latest-fbi")


class FbiKeyedByLea(Faulty):
    """Files the FBI number under the LEA that booked: a repeat arrest by another LEA finds none."""

    name, breaks = "fbi-keyed-by-lea", ("NFF-1",)

    def learn(self, tx: Transaction, sre: dict[str, Any]) -> None:
        self.store.set_fbi(f"{tx.ori}|{tx.biometric_key}", sre["type2"]["fbi"])

    def fbi_for(self, booking: dict[str, Any]) -> str | None:
        return self.store.fbi_of(f"{booking['ori']}|{booking['prints']['biometric_key']}")


class IgnoresSrfI(Faulty):
    """Keeps the FBI number only from an SRE for a new record (srf N), not an identification."""

    name, breaks = "ignores-srf-i", ("NFF-1",)

    def learn(self, tx: Transaction, sre: dict[str, Any]) -> None:
        if sre["type2"].get("srf") == "N":
            super().learn(tx, sre)


class CpiAnswersToFirstLea(Faulty):
    """Routes the answers to a CPI to the LEA of the subject's first arrest."""

    name, breaks = "cpi-answers-to-first-lea", ("NFF-3",)

    def route_to(self, tx: Transaction, message: dict[str, Any]) -> list[str]:
        targets = super().route_to(tx, message)
        if tx.tot != "CPI" or not targets:
            return targets
        rows = self.store.sql(
            "SELECT ori FROM transactions WHERE biometric_key = ? AND tot = 'CAR' LIMIT 1",
            (tx.biometric_key,),
        )
        return [rows[0][0]] if rows else targets
