"""What DHS IDENT and ICE LESC know of a synthetic person: encounters, criminal history and the
status determination.

Distributions follow the program briefing (``000_137f8fd4fc7e2853.txt``): 12% of transmissions
match in IDENT; of the matches about 8% are Level 1, 88% Level 2 or 3 and 4% US citizens; 95% of
IDENT records carry a photograph; 70% of IDENT records are flat two-print and 30% rolled ten-print.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Final

from protocol.ebts import ebts_date, parse_ebts_date
from protocol.levels import highest_level

from ._utils import Doc, weighted
from .people import (
    CHARGES,
    CHARGES_BY_LEVEL,
    DRUG_CHARGE,
    PRINT_KINDS,
    REFERENCE_YEAR,
    TWO_PRINT_SHARE,
    People,
)

__all__ = ["ALIENAGES", "PHOTO_RATE", "Encounters"]

PHOTO_RATE: Final = 0.95
"""Share of IDENT records with a photograph (briefing: 95%)."""
ALIENAGES: Final = ("alien", "us-citizen", "undetermined")

_STATUS: Final[Mapping[str, tuple[str, ...]]] = {
    "removable": (
        "VISA OVERSTAY",
        "ENTERED WITHOUT INSPECTION",
        "REMOVAL ORDER OUTSTANDING",
        "LAWFUL PERMANENT RESIDENT - REMOVABLE CONVICTION",
    ),
    "not-removable": ("LAWFUL PERMANENT RESIDENT", "TEMPORARY PROTECTED STATUS", "ASYLEE"),
    "undetermined": ("STATUS UNDETERMINED", "RECORD UNDER REVIEW"),
    "not-applicable": ("UNITED STATES CITIZEN",),
}


class Encounters(People):
    """People, and their records in the synthetic IDENT repository and at LESC."""

    def encounter(self, person: Mapping[str, Any], *, variant: bool | None = None) -> Doc:
        """One DHS encounter with ``person`` (``idr.json#/$defs/encounter``).

        The name is a variant about 30% of the time; a photograph 95%; prints 70% flat two-print.
        """
        rng = self.rng
        if variant is None:
            variant = rng.random() < 0.3
        nam = str(person["nam"])
        out: Doc = {
            "nam": self.name_variant(nam) if variant else nam,
            "dob": person["dob"],
            "pob": person["pob"],
            "sex": person["sex"],
            "srl": self.srl(),
        }
        if rng.random() < PHOTO_RATE:
            out["photo"] = self.photo_ref()
        out["prints"] = PRINT_KINDS[0] if rng.random() < TWO_PRINT_SHARE else PRINT_KINDS[1]
        return out

    def encounters(self, person: Mapping[str, Any], n: int) -> list[Doc]:
        """``n`` (0 to 5) DHS encounters with ``person``."""
        if not 0 <= n <= 5:
            raise ValueError(f"an IDR carries at most five encounters, not {n}")
        return [self.encounter(person) for _ in range(n)]

    def dhs_history(self, person: Mapping[str, Any], *, match_rate: float = 0.12) -> list[Doc]:
        """The person's record in the synthetic IDENT repository: 1-5 encounters or none.

        With probability ``match_rate`` (briefing: 12% of transmissions match) there are
        1 to 5 encounters, evenly drawn.
        """
        if self.rng.random() < match_rate:
            return self.encounters(person, self.rng.randint(1, 5))
        return []

    def _prior_doo(self, dob: str) -> datetime.date:
        earliest = parse_ebts_date(dob) + datetime.timedelta(days=16 * 366)
        latest = datetime.date(REFERENCE_YEAR, 1, 1)
        day = latest - datetime.timedelta(days=self.rng.randint(30, 15 * 365))
        return max(day, min(earliest, latest))

    def prior(
        self, person: Mapping[str, Any], *, level: int | None = None, table: str = "sop"
    ) -> Doc:
        """One criminal history entry (``iar.json#/$defs/prior``) of the given Appendix A level.

        Without a level, any catalogue charge. Convictions (70%) carry a sentence sometimes, drug
        convictions always (so their level is known).
        """
        rng = self.rng
        sentence: int | None = None
        if level is None:
            code, literal = rng.choice(CHARGES)
        elif level in (1, 2) and rng.random() < 0.1:
            code, literal = DRUG_CHARGE
            sentence = self._drug_sentence(level)
        else:
            code, literal = rng.choice(CHARGES_BY_LEVEL[table][level])
        convicted = sentence is not None or rng.random() < 0.7
        if convicted and sentence is None:
            if code == DRUG_CHARGE[0]:
                sentence = self._drug_sentence()
            elif rng.random() < 0.5:
                sentence = rng.choice((0, 30, 90, 180, 365, 730, 1825))
        out: Doc = {
            "ncic": code,
            "aol": literal,
            "doo": ebts_date(self._prior_doo(str(person["dob"]))),
            "disposition": "convicted" if convicted else "pending",
        }
        if sentence is not None:
            out["sentence_days"] = sentence
        return out

    def history(
        self, person: Mapping[str, Any], *, level: int | None, table: str = "sop"
    ) -> list[Doc]:
        """1-4 history entries whose most serious Appendix A level is ``level``; none for None."""
        if level is None:
            return []
        entries = [self.prior(person, level=level, table=table)]
        for _ in range(self.rng.randint(0, 3)):
            entries.append(self.prior(person, level=self.rng.randint(level, 3), table=table))
        entries.sort(key=lambda e: str(e["doo"]))
        return entries

    def determination(
        self,
        person: Mapping[str, Any],
        *,
        alienage: str | None = None,
        offense_level: int | None = None,
        dro: str,
        history: Sequence[Mapping[str, Any]] | None = None,
        removability: str | None = None,
        status: str | None = None,
        fbi: str | None = None,
        level_table: str = "sop",
    ) -> Doc:
        """An LESC status determination (``iar.json#/$defs/determination``).

        Alienage is drawn (US citizen 4%, undetermined 2%, alien otherwise; never US citizen when
        a level is asked for) unless given. A US citizen has removability ``not-applicable`` and
        offense level None (asking for a level with ``alienage="us-citizen"`` raises ValueError).
        Otherwise: with no history and no level, the level is drawn (Level 1 8/96, Level 2 and 3
        44/96 each, the briefing's 8% / 88% of matches) and a history made to fit; with a level
        and no history, a history of that level; with a history and no level,
        the level is the history's most serious (``protocol.levels.highest_level``).
        """
        alienage = self._alienage(alienage, offense_level)
        level, entries = self._level_and_history(
            person, alienage, offense_level, history, level_table
        )
        removability = self._removability(alienage, removability)
        out: Doc = {"nam": person["nam"], "dob": person["dob"]}
        if fbi:
            out["fbi"] = fbi
        out["alienage"] = alienage
        out["removability"] = removability
        out["status"] = status or self._status(removability)
        out["history"] = entries
        out["offense_level"] = level
        out["level_table"] = level_table
        out["dro"] = dro
        return out

    def _alienage(self, alienage: str | None, offense_level: int | None) -> str:
        """The given alienage, checked, or one drawn (never US citizen when a level is asked)."""
        if alienage is None:
            usc = 0.04 if offense_level is None else 0.0
            alienage = weighted(
                self.rng, [("alien", 0.94), ("us-citizen", usc), ("undetermined", 0.02)]
            )
        if alienage not in ALIENAGES:
            raise ValueError(f"alienage must be one of {ALIENAGES}, not {alienage!r}")
        if alienage == "us-citizen" and offense_level is not None:
            raise ValueError("a US citizen has no offense level (iar.json)")
        return alienage

    def _level_and_history(
        self,
        person: Mapping[str, Any],
        alienage: str,
        offense_level: int | None,
        history: Sequence[Mapping[str, Any]] | None,
        table: str,
    ) -> tuple[int | None, list[Doc]]:
        """The offense level and the criminal history, each made to fit the other.

        A US citizen has no level; a given history gives its most serious level unless one is
        given; otherwise the level (given or drawn) gets a history made to fit.
        """
        if alienage == "us-citizen":
            return None, [dict(h) for h in history or ()]
        if history is not None:
            entries = [dict(h) for h in history]
            if offense_level is not None:
                return offense_level, entries
            charged = ((str(e["ncic"]), e.get("sentence_days")) for e in entries)
            return highest_level(charged, table=table), entries
        level = offense_level
        if level is None:
            level = weighted(self.rng, [(1, 8.0), (2, 44.0), (3, 44.0)])
        return level, self.history(person, level=level, table=table)

    def _removability(self, alienage: str, removability: str | None) -> str:
        """Not applicable to a US citizen; else as given, or drawn for an alien, or undetermined."""
        if alienage == "us-citizen":
            return "not-applicable"
        if removability is not None:
            return removability
        if alienage == "alien":
            return weighted(
                self.rng, [("removable", 0.80), ("not-removable", 0.15), ("undetermined", 0.05)]
            )
        return "undetermined"

    def _status(self, removability: str) -> str:
        """An immigration status that goes with the removability."""
        return self.rng.choice(_STATUS.get(removability, ("STATUS UNDETERMINED",)))

    def name_candidates(self, query: Mapping[str, Any], *, found: float = 0.35) -> list[Doc]:
        """DHS records a name search for ``query`` (nam, dob, sex, pob) finds: none about
        ``1 - found`` of the time, else one to three, each met by name, by an alias the subject
        also used, or nearly (a name variant or a date of birth a day off); strongest first."""
        if self.rng.random() >= found:
            return []
        out: list[Doc] = []
        for how in sorted(self.rng.sample(["name", "alias", "near"], self.rng.randint(1, 3))):
            nam, dob, differs = str(query["nam"]), str(query["dob"]), list[str]()
            aka: list[str] = []
            if how == "alias":
                aka, nam = [nam], self._alias(nam, str(query["sex"]))
            elif how == "near":
                if self.rng.random() < 0.5:
                    nam, differs = self.name_variant(nam), ["nam"]
                else:
                    shifted = parse_ebts_date(dob) + datetime.timedelta(days=1)
                    dob, differs = ebts_date(shifted), ["dob"]
            pob = str(query["pob"])
            if pob == "XX" or self.rng.random() < 0.2:
                pob = self.pob()
                differs += ["pob"] if how == "near" and pob != query["pob"] else []
            removability = self.rng.choice(["removable", "not-removable", "undetermined"])
            alienage = "undetermined" if removability == "undetermined" else "alien"
            candidate: Doc = {"match": how, "nam": nam, "dob": dob, "sex": query["sex"]}
            candidate.update(pob=pob, alienage=alienage, status=self._status(removability))
            if aka:
                candidate["aka"] = aka
            if differs:
                candidate["differs"] = differs
            candidate["arn"] = f"0{self.rng.randrange(10**8):08d}"
            out.append(candidate)
        order = {"name": 0, "alias": 1, "near": 2}
        return sorted(out, key=lambda c: order[c["match"]])
