"""Synthetic Interoperability messages: the CAR and CPI a SIB sends, and the SRE, IDR, IAQ, IAR,
ERRT and detainer that come back, each shaped by its schema in ``schemas/``."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from protocol.detainer import custody_deadline
from protocol.ebts import CJIS_ORI, LESC_ORI, dro_ori, ebts_date, gmt, utc

from ._utils import Doc
from .encounters import Encounters

__all__ = ["DETAINER_ACTIONS", "ERROR_SAMPLES", "NAME_CAVEAT", "Messages"]

DETAINER_ACTIONS: Final = (
    "investigation-initiated",
    "notice-to-appear-served",
    "removal-order",
    "deportable-alien-determined",
)

ERROR_SAMPLES: Final[tuple[tuple[str, str, str], ...]] = (
    ("E0001", "$.type2.dob", "2.022 DOB: mandatory for TOT CAR and missing"),
    ("E0001", "$.type2.doa", "2.045 DOA: mandatory and missing"),
    ("E0002", "$.type2.pob", "2.020 POB: not a valid NCIC state or country code"),
    ("E0002", "$.type2.nam", "2.018 NAM: must be SURNAME,GIVEN in upper case"),
    ("E0003", "$.type2.doa", "2.045 DOA: after the transaction date"),
    ("E0006", "$.type2.fbi", "2.014 FBI: does not match the record retrieved for the CPI"),
    ("A0004", "$.type1.ori", "1.008 ORI: not authorized for this TOT"),
    ("H0001", "$.type1.tcn", "1.009 TCN: missing"),
    ("H0002", "$.type1.dai", "1.007 DAI: not the CJIS ORI"),
    ("H0003", "$.type1.dat", "1.005 DAT: inconsistent with GMT (1.014)"),
)
"""(code, field, text) examples of ERRT problems, for tests and strategies."""

NAME_CAVEAT: Final = "NAME-BASED RESPONSE. IDENTITY NOT CONFIRMED BY FINGERPRINTS."
"""What every name-based NLETS IAR says of itself (``nlets-iar.json``, txt.caveat)."""

_BY_TCN_LIMIT: Final = 10_000

_format_gmt = gmt  # methods take a parameter called ``gmt``


class Messages(Encounters):
    """People and encounters, and the messages about them.

    It remembers the person behind each submission TCN it built (the last 10,000), so responses
    can name the subject of a CPI.
    """

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self._by_tcn: dict[str, Doc] = {}

    # -- submissions -----------------------------------------------------------------------

    def _remember(self, tcn: str, person: Mapping[str, Any]) -> None:
        self._by_tcn[tcn] = dict(person)
        while len(self._by_tcn) > _BY_TCN_LIMIT:
            del self._by_tcn[next(iter(self._by_tcn))]

    def _submission_type1(
        self, tot: str, booking: Mapping[str, Any], tcn: str | None, dai: str, ts: datetime.datetime
    ) -> Doc:
        ori = str(booking["ori"])
        number = tcn or self.tcn(ori, utc(ts).date())
        self._remember(number, booking["person"])
        return {
            "tot": tot,
            "dat": ebts_date(ts),
            "pry": 4,
            "dai": dai,
            "ori": ori,
            "tcn": number,
            "gmt": _format_gmt(ts),
        }

    def car(
        self,
        booking: Mapping[str, Any],
        *,
        tcn: str | None = None,
        dai: str = CJIS_ORI,
        gmt: datetime.datetime,
    ) -> Doc:
        """The CAR a SIB sends for ``booking`` (``car.json``); TCN drawn when not given."""
        person = booking["person"]
        type2: Doc = {"nam": person["nam"]}
        if person.get("aka"):
            type2["aka"] = list(person["aka"])
        for field in ("pob", "dob", "sex", "rac", "hgt", "wgt", "eye", "hai"):
            if field in person:
                type2[field] = person[field]
        type2["doa"] = booking["doa"]
        type2["asl"] = copy.deepcopy(list(booking["charges"]))
        for field in ("sid", "fbi"):
            if booking.get(field):
                type2[field] = booking[field]
        type2["cri"] = [booking["ori"]]
        return {
            "type1": self._submission_type1("CAR", booking, tcn, dai, gmt),
            "type2": type2,
            "prints": dict(booking["prints"]),
        }

    def cpi(
        self,
        booking: Mapping[str, Any],
        *,
        tcn: str | None = None,
        fbi: str | None = None,
        dai: str = CJIS_ORI,
        gmt: datetime.datetime,
    ) -> Doc:
        """The CPI an NFF state sends for a repeat arrest (``cpi.json``): FBI number, charges."""
        number = fbi or booking.get("fbi")
        if not number:
            raise ValueError("a CPI needs the subject's FBI number: pass fbi= or book with one")
        person = booking["person"]
        type2: Doc = {"fbi": number}
        if booking.get("sid"):
            type2["sid"] = booking["sid"]
        type2["nam"] = person["nam"]
        type2["dob"] = person["dob"]
        type2["doa"] = booking["doa"]
        type2["asl"] = copy.deepcopy(list(booking["charges"]))
        type2["cri"] = [booking["ori"]]
        return {"type1": self._submission_type1("CPI", booking, tcn, dai, gmt), "type2": type2}

    # -- responses -------------------------------------------------------------------------

    def _person_of(
        self, submission: Mapping[str, Any], person: Mapping[str, Any] | None
    ) -> Mapping[str, Any]:
        if person is not None:
            return person
        remembered = self._by_tcn.get(str(submission["type1"]["tcn"]))
        if remembered is not None:
            return remembered
        type2: Mapping[str, Any] = submission.get("type2", {})
        missing = [f for f in ("nam", "dob", "pob", "sex") if f not in type2]
        if missing:
            raise ValueError(
                f"submission {submission['type1']['tcn']} does not name its subject's "
                f"{', '.join(missing)}: pass person="
            )
        return type2

    def _response_type1(
        self,
        tot: str,
        submission: Mapping[str, Any],
        *,
        ori: str,
        dai: str,
        tcn: str | None,
        ts: datetime.datetime,
    ) -> Doc:
        return {
            "tot": tot,
            "dat": ebts_date(ts),
            "dai": dai,
            "ori": ori,
            "tcn": tcn or self.response_tcn(tot, utc(ts).date()),
            "tcr": submission["type1"]["tcn"],
            "gmt": _format_gmt(ts),
        }

    @staticmethod
    def _sib(submission: Mapping[str, Any], sib_ori: str | None) -> str:
        return sib_ori or str(submission["type1"]["ori"])

    @staticmethod
    def _type2_of(doc: Mapping[str, Any]) -> Doc:
        """A message's type2 when given a whole message, else the document itself."""
        inner = doc["type2"] if "type1" in doc and "type2" in doc else doc
        return copy.deepcopy(dict(inner))

    def ident_response(
        self,
        encounters: Sequence[Mapping[str, Any]] | None = None,
        iar: Mapping[str, Any] | None = None,
    ) -> Doc:
        """The IDENT part of an IDR (``idr.json#/$defs/response``): no encounters, no match."""
        found = [dict(e) for e in encounters or ()]
        if not found and iar is not None:
            raise ValueError("a no-match IDR carries no IAR")
        out: Doc = {"result": "match" if found else "no-match", "encounters": found}
        if iar is not None:
            out["iar"] = self._type2_of(iar)
        return out

    def sre(
        self,
        submission: Mapping[str, Any],
        *,
        srf: str,
        fbi: str | None = None,
        gmt: datetime.datetime,
        tcn: str | None = None,
        ident: Mapping[str, Any] | None = None,
        sib_ori: str | None = None,
        person: Mapping[str, Any] | None = None,
    ) -> Doc:
        """The IAFIS SRE for ``submission`` (``sre.json``), from CJIS to the SIB.

        ``srf`` is I (identified) or N; an identified SRE without ``fbi`` gets a fresh one.
        ``ident`` (an IDR or its type2) makes it an NFF state's additional SRE.
        """
        type2: Doc = {"srf": srf}
        sub2 = submission.get("type2", {})
        number = fbi or sub2.get("fbi")
        if srf == "I" and not number:
            number = self.fbi_number()
        if number:
            type2["fbi"] = number
        subject = person or self._by_tcn.get(str(submission["type1"]["tcn"])) or sub2
        if subject.get("nam"):
            type2["nam"] = subject["nam"]
        if sub2.get("sid"):
            type2["sid"] = sub2["sid"]
        if ident is not None:
            type2["ident"] = self._type2_of(ident)
        return {
            "type1": self._response_type1(
                "SRE", submission, ori=CJIS_ORI, dai=self._sib(submission, sib_ori), tcn=tcn, ts=gmt
            ),
            "type2": type2,
        }

    def idr(
        self,
        submission: Mapping[str, Any],
        *,
        gmt: datetime.datetime,
        tcn: str | None = None,
        encounters: Sequence[Mapping[str, Any]] | None = None,
        iar: Mapping[str, Any] | None = None,
        sib_ori: str | None = None,
    ) -> Doc:
        """The IDR for ``submission`` (``idr.json``): no encounters is a no-match.

        ``iar`` (an IAR or its determination) joins it, making the match IDR/IAR.
        """
        return {
            "type1": self._response_type1(
                "IDR", submission, ori=CJIS_ORI, dai=self._sib(submission, sib_ori), tcn=tcn, ts=gmt
            ),
            "type2": self.ident_response(encounters, iar),
        }

    def iaq(
        self,
        submission: Mapping[str, Any],
        *,
        gmt: datetime.datetime,
        tcn: str | None = None,
        encounters: Sequence[Mapping[str, Any]],
        lea: str | None = None,
        person: Mapping[str, Any] | None = None,
    ) -> Doc:
        """The IAQ CJIS sends LESC on a match (``iaq.json``); ``lea`` defaults to the first CRI."""
        if not encounters:
            raise ValueError("no IAQ follows a no-match: encounters are needed")
        subject = self._person_of(submission, person)
        sub2 = submission["type2"]
        type2: Doc = {
            "nam": subject["nam"],
            "dob": subject["dob"],
            "pob": subject["pob"],
            "sex": subject["sex"],
        }
        if sub2.get("fbi"):
            type2["fbi"] = sub2["fbi"]
        type2["asl"] = copy.deepcopy(list(sub2["asl"]))
        type2["lea"] = lea or sub2.get("cri", [submission["type1"]["ori"]])[0]
        type2["srl"] = [e["srl"] for e in encounters]
        return {
            "type1": self._response_type1(
                "IAQ", submission, ori=CJIS_ORI, dai=LESC_ORI, tcn=tcn, ts=gmt
            ),
            "type2": type2,
        }

    def iar(
        self,
        submission: Mapping[str, Any],
        *,
        gmt: datetime.datetime,
        tcn: str | None = None,
        determination: Mapping[str, Any],
        dai: str = CJIS_ORI,
    ) -> Doc:
        """The IAR LESC sends CJIS (``iar.json``); ``dai`` may name the DRO for its copy."""
        return {
            "type1": self._response_type1(
                "IAR", submission, ori=LESC_ORI, dai=dai, tcn=tcn, ts=gmt
            ),
            "type2": self._type2_of(determination),
        }

    def errt(
        self,
        submission: Mapping[str, Any],
        *,
        gmt: datetime.datetime,
        tcn: str | None = None,
        problems: Iterable[tuple[str, str, str]],
        permanent: bool,
        sib_ori: str | None = None,
    ) -> Doc:
        """The ERRT rejecting ``submission`` (``errt.json``), one MSG per (code, field, text)."""
        msg = [{"code": code, "field": field, "text": text} for code, field, text in problems]
        return {
            "type1": self._response_type1(
                "ERRT",
                submission,
                ori=CJIS_ORI,
                dai=self._sib(submission, sib_ori),
                tcn=tcn,
                ts=gmt,
            ),
            "type2": {"msg": msg, "permanent": permanent},
        }

    def detainer(
        self,
        submission: Mapping[str, Any],
        *,
        gmt: datetime.datetime,
        tcn: str | None = None,
        dro: str | None = None,
        lea: str | None = None,
        fbi: str | None = None,
        actions: Sequence[str] | None = None,
        release_notified_at: datetime.datetime | None = None,
        file_no: str | None = None,
        person: Mapping[str, Any] | None = None,
    ) -> Doc:
        """A Form I-247 detainer lodged at ``gmt`` by the DRO with the LEA (``detainer.json``).

        With ``release_notified_at``, the custody deadline is 48 business hours later
        (``protocol.detainer.custody_deadline``).
        """
        subject = self._person_of(submission, person)
        sub2 = submission.get("type2", {})
        lea = lea or sub2.get("cri", [submission["type1"]["ori"]])[0]
        dro = dro or dro_ori(str(lea)[:2])
        subject_doc: Doc = {
            "nam": subject["nam"],
            "dob": subject["dob"],
            "pob": subject["pob"],
            "sex": subject["sex"],
        }
        number = fbi or sub2.get("fbi")
        if number:
            subject_doc["fbi"] = number
        subject_doc["file_no"] = file_no or self.file_number()
        if actions is None:
            actions = [DETAINER_ACTIONS[0]]
            if self.rng.random() < 0.3:
                actions.append(self.rng.choice(DETAINER_ACTIONS[1:]))
        out: Doc = {
            "type1": self._response_type1("DET", submission, ori=dro, dai=lea, tcn=tcn, ts=gmt),
            "form": "I-247",
            "subject": subject_doc,
            "lea": lea,
            "dro": dro,
            "actions": list(actions),
            "offense_level": 1,
            "lodged_at": _format_gmt(gmt),
        }
        if release_notified_at is not None:
            released = utc(release_notified_at)
            out["release_notified_at"] = _format_gmt(released)
            out["custody_deadline"] = _format_gmt(custody_deadline(released))
        return out

    # -- NLETS (name-based) ----------------------------------------------------------------

    def nlets_iaq(
        self,
        person: Mapping[str, Any],
        *,
        ori: str,
        mid: str,
        gmt: datetime.datetime,
        off: str = "0399",
        tcr: str | None = None,
        custody: bool = True,
    ) -> Doc:
        """The name-based IAQ an LEA (``ori``) sends LESC through NLETS (``nlets-iaq.json``),
        about ``person`` (nam, dob, sex, pob); ``tcr``: the TCN whose no-match IDR led to it."""
        txt: Doc = {"pur": "C", "atn": f"DET {self.rng.randint(100, 999)}"}
        txt["phn"] = f"555 01{self.rng.randint(0, 99):02d}"
        txt.update({f: person[f] for f in ("dob", "sex", "pob")})
        txt["nam"] = str(person["nam"])[:30].rstrip(" -'")  # NLETS NAM/ holds 30 characters
        txt.update(cus="Y" if custody else "N", off=off)
        if tcr is not None:
            txt["tcr"] = tcr
        header = {"mke": "IAQ", "ori": ori, "dst": "AX", "mid": mid, "gmt": _format_gmt(gmt)}
        return {"header": header, "txt": txt}

    def nlets_iar(
        self,
        iaq: Mapping[str, Any],
        *,
        mid: str,
        gmt: datetime.datetime,
        candidates: Sequence[Mapping[str, Any]],
    ) -> Doc:
        """LESC's name-based answer (``nlets-iar.json``) to ``iaq``, to the LEA that sent it."""
        header = {"mke": "IAR", "ori": LESC_ORI, "dst": iaq["header"]["ori"], "mid": mid}
        header.update(mir=iaq["header"]["mid"], gmt=_format_gmt(gmt))
        query = {f: iaq["txt"][f] for f in ("nam", "dob", "sex", "pob")}
        txt: Doc = {"basis": "name", "confirmed": False, "caveat": NAME_CAVEAT}
        txt["result"] = "candidates" if candidates else "no-record"
        txt.update(candidates=[dict(c) for c in candidates], query=query)
        return {"header": header, "txt": txt}
