"""Synthetic people: identifiers, ORIs, names, charges, prints and bookings.

Everything here is made up: names come from faker (``en_US``), every identifier (FBI number, SID,
biometric key, system record locator, photo reference, ICE file number) is drawn from a seeded
``random.Random``. The same seed gives the same outputs in the same order. Documents are plain
``dict[str, Any]`` shaped by the JSON Schemas in ``schemas/``; tests check them with
``schemas.validate``, nothing here restates a schema.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Final

from protocol.ebts import ebts_date
from protocol.levels import offense_level

from ._utils import Doc, weighted
from .identifiers import STATE_CODES, Identifiers
from .names import normalize_name, split_nam

__all__ = [
    "CHARGES",
    "CHARGES_BY_LEVEL",
    "DRUG_CHARGE",
    "FOREIGN_POB",
    "PRINT_KINDS",
    "REFERENCE_YEAR",
    "TWO_PRINT_SHARE",
    "People",
]

REFERENCE_YEAR: Final = 2026
"""People are 18 to 70 years old on every day of this year."""
TWO_PRINT_SHARE: Final = 0.70
"""Share of IDENT records that are flat two-print (briefing: 70% two-print, 30% ten-print)."""
PRINT_KINDS: Final = ("flat-two-print", "rolled-ten-print")

FOREIGN_POB: Final[tuple[str, ...]] = ("MM", "ES", "HO", "GT", "CU", "DR", "JM", "CH", "PH", "XX")
"""Non-US places of birth, NCIC-style 2-letter country codes, and XX for unknown."""

CHARGES: Final[tuple[tuple[str, str], ...]] = (
    # Appendix A Level 1
    ("0999", "HOMICIDE"),
    ("1099", "KIDNAPPING"),
    ("1199", "SEXUAL ASSAULT"),
    ("1299", "ROBBERY"),
    ("1399", "AGGRAVATED ASSAULT"),
    ("1601", "THREAT TO INJURE"),
    ("3699", "SEX OFFENSE"),
    ("4801", "RESISTING OFFICER"),
    ("5202", "WEAPON OFFENSE"),
    ("5401", "HIT AND RUN"),
    # Level 2
    ("2099", "ARSON"),
    ("2299", "BURGLARY"),
    ("2399", "LARCENY"),
    ("2404", "THEFT OF VEHICLE"),
    ("2599", "FORGERY"),
    ("2699", "FRAUD"),
    ("2899", "STOLEN PROPERTY"),
    ("5499", "TRAFFIC OFFENSE"),
    # Level 3
    ("0399", "IMMIGRATION OFFENSE"),
    ("2901", "DAMAGE PROPERTY"),
    ("3899", "FAMILY OFFENSE"),
    ("3999", "GAMBLING"),
    ("4199", "LIQUOR"),
    ("4899", "OBSTRUCTING POLICE"),
    ("5599", "HEALTH AND SAFETY"),
    ("7399", "PUBLIC ORDER CRIMES"),
    # Level 1 or 2 by sentence (> 1 year is Level 1)
    ("3599", "DANGEROUS DRUGS"),
)
"""(NCIC code, arrest offense literal) pairs spread over the Appendix A levels."""

DRUG_CHARGE: Final = ("3599", "DANGEROUS DRUGS")

_CHARGE_LITERALS: Final = dict(CHARGES)
_DOB_FIRST: Final = datetime.date(REFERENCE_YEAR - 70, 1, 1)
_DOB_LAST: Final = datetime.date(REFERENCE_YEAR - 18, 1, 1)


def _level_of(ncic: str, sentence_days: int | None, table: str = "sop") -> int | None:
    return offense_level(ncic, sentence_days=sentence_days, table=table).level


def _by_level(table: str) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {1: [], 2: [], 3: []}
    for code, literal in CHARGES:
        if (code, literal) == DRUG_CHARGE:
            continue
        level = _level_of(code, None, table)
        if level is None:
            raise AssertionError(f"charge {code} {literal} has no level in the {table} table")
        out[level].append((code, literal))
    return out


CHARGES_BY_LEVEL: Final = {table: _by_level(table) for table in ("sop", "strategic-plan")}
"""The catalogue's charges by Appendix A level, per level table (drug charges aside)."""


class _Subject:
    """What the generator remembers of a person: biometric key, FBI number and SID."""

    __slots__ = ("fbi", "key", "sid")

    def __init__(self, key: str) -> None:
        self.key = key
        self.fbi: str | None = None
        self.sid: str | None = None


class People(Identifiers):
    """Seeded generator of synthetic people and their bookings; same seed, same outputs in order.

    It remembers each person it has seen (by name and date of birth) with a biometric key, so
    every booking of the same person carries the same key.
    """

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self._subjects: dict[tuple[str, str], _Subject] = {}
        self._booking_count = 0

    # -- people ----------------------------------------------------------------------------

    def _given(self, sex: str) -> str:
        if sex == "M":
            return str(self.faker.first_name_male())
        if sex == "F":
            return str(self.faker.first_name_female())
        return str(self.faker.first_name())

    def _surname(self) -> str:
        surname = str(self.faker.last_name())
        if self.rng.random() < 0.05:
            surname = f"{surname}-{self.faker.last_name()}"
        return surname

    def name(self, sex: str = "M") -> str:
        """A synthetic NAM for a person of ``sex``: surname, given name, often a middle name."""
        surname = self._surname()
        given = self._given(sex)
        roll = self.rng.random()
        middle = self._given(sex) if roll < 0.6 else self.rng.choice("ABCDEFGHJKLMNPRSTW")
        return normalize_name(surname, given, middle if roll < 0.75 else "")

    def _dob(self) -> datetime.date:
        span = (_DOB_LAST - _DOB_FIRST).days
        return _DOB_FIRST + datetime.timedelta(days=self.rng.randint(0, span))

    def pob(self) -> str:
        """A place of birth: a US state code 80% of the time, else a foreign code or XX."""
        if self.rng.random() < 0.8:
            return self.rng.choice(STATE_CODES)
        return self.rng.choice(FOREIGN_POB)

    def person(self, **overrides: Any) -> Doc:
        """A synthetic person as in ``booking.json``'s ``person``; ``overrides`` replace fields.

        Aged 18 to 70 throughout 2026; born in a US state about 80% of the time.
        """
        rng = self.rng
        sex = weighted(rng, [("M", 0.74), ("F", 0.25), ("U", 0.01)])
        nam = self.name(sex)
        person: Doc = {"nam": nam}
        if rng.random() < 0.25:
            person["aka"] = [self._alias(nam, sex) for _ in range(rng.randint(1, 2))]
        person["pob"] = self.pob()
        person["dob"] = ebts_date(self._dob())
        person["sex"] = sex
        person["rac"] = weighted(
            rng, [("W", 0.60), ("B", 0.27), ("A", 0.03), ("I", 0.03), ("U", 0.07)]
        )
        inches = rng.randint(62, 77) if sex == "M" else rng.randint(58, 71)
        person["hgt"] = f"{inches // 12}{inches % 12:02d}"
        person["wgt"] = f"{rng.randint(105, 330):03d}"
        person["eye"] = weighted(
            rng, [("BRO", 0.55), ("BLU", 0.25), ("HAZ", 0.08), ("GRN", 0.07), ("GRY", 0.05)]
        )
        person["hai"] = weighted(
            rng, [("BLK", 0.35), ("BRO", 0.40), ("BLN", 0.10), ("RED", 0.04), ("GRY", 0.11)]
        )
        person.update(overrides)
        self._subject(person)  # draw the person's biometric key now, in order
        return person

    def _alias(self, nam: str, sex: str) -> str:
        sur, given, _ = split_nam(nam)
        if self.rng.random() < 0.5:
            return normalize_name(sur, self._given(sex))
        return normalize_name(self._surname(), given)

    def name_variant(self, nam: str) -> str:
        """The same name as another record might hold it.

        Without the middle name, with its initial only, with the first half of a hyphenated
        surname, or else with surname and given name transposed.
        """
        sur, given, middle = split_nam(nam)
        choice = self.rng.randrange(3)
        if choice == 0 and middle:
            return normalize_name(sur, given)
        if choice == 1 and len(middle) > 1:
            return normalize_name(sur, given, middle[0])
        if choice == 2 and "-" in sur:
            return normalize_name(sur.split("-")[0], given, middle)
        return normalize_name(given, sur, middle)

    def _subject(self, person: Mapping[str, Any]) -> _Subject:
        ident = (str(person["nam"]), str(person["dob"]))
        found = self._subjects.get(ident)
        if found is None:
            found = self._subjects[ident] = _Subject(self.biometric_key())
        return found

    def biometric_key_of(self, person: Mapping[str, Any]) -> str:
        """The person's biometric key, drawn the first time the person is seen."""
        return self._subject(person).key

    # -- charges and prints ----------------------------------------------------------------

    def _drug_sentence(self, level: int | None = None) -> int:
        if level == 1:
            return self.rng.choice((366, 540, 730, 1095, 1825, 3650))
        if level == 2:
            return self.rng.choice((30, 60, 90, 180, 270, 365))
        return self.rng.choice((30, 90, 180, 365, 366, 730, 1825))

    def charge(
        self,
        *,
        ncic: str | None = None,
        doo: datetime.date | None = None,
        doa: datetime.date | None = None,
        sentence_days: int | None = None,
    ) -> Doc:
        """One charge (``common.json#/$defs/charge``).

        Without ``ncic`` the code is drawn by level: Level 1 15%, Level 2 45%, Level 3 30%,
        dangerous drugs 10% (half of those with a sentence). ``doo`` defaults to 0-3 days before
        ``doa`` (itself defaulting to 1 July of the reference year).
        """
        rng = self.rng
        if ncic is None:
            group = weighted(rng, [(1, 0.15), (2, 0.45), (3, 0.30), (0, 0.10)])
            code, literal = (
                DRUG_CHARGE if group == 0 else rng.choice(CHARGES_BY_LEVEL["sop"][group])
            )
            if code == DRUG_CHARGE[0] and sentence_days is None and rng.random() < 0.5:
                sentence_days = self._drug_sentence()
        else:
            code, literal = ncic, _CHARGE_LITERALS.get(ncic, f"OFFENSE {ncic}")
        if doo is None:
            base = doa or datetime.date(REFERENCE_YEAR, 7, 1)
            doo = base - datetime.timedelta(days=rng.randint(0, 3))
        out: Doc = {"ncic": code, "aol": literal, "doo": ebts_date(doo)}
        if sentence_days is not None:
            out["sentence_days"] = sentence_days
        return out

    def charges(
        self,
        n: int = 1,
        *,
        ncic: str | None = None,
        doo: datetime.date | None = None,
        doa: datetime.date | None = None,
    ) -> list[Doc]:
        """``n`` charges (see ``charge``); ``ncic`` fixes every charge's code."""
        if not 1 <= n <= 40:
            raise ValueError(f"a charge list holds 1 to 40 charges, not {n}")
        return [self.charge(ncic=ncic, doo=doo, doa=doa) for _ in range(n)]

    def prints(
        self, kind: str | None = None, key: str | None = None, *, impressions: int | None = None
    ) -> Doc:
        """A fingerprint set description (``common.json#/$defs/prints``).

        Without ``kind``, 70% flat two-print, 30% rolled ten-print (the IDENT repository mix).
        Flat two-print has 2 impressions; rolled ten-print 10 or 14 (with slaps), evenly drawn.
        """
        if kind is None:
            kind = PRINT_KINDS[0] if self.rng.random() < TWO_PRINT_SHARE else PRINT_KINDS[1]
        if impressions is None:
            impressions = 2 if kind == PRINT_KINDS[0] else self.rng.choice((10, 14))
        return {
            "kind": kind,
            "impressions": impressions,
            "biometric_key": key or self.biometric_key(),
        }

    # -- bookings and submissions ----------------------------------------------------------

    def booking(
        self,
        ori: str,
        *,
        doa: datetime.date,
        person: Mapping[str, Any] | None = None,
        prior_arrest_in_state: bool = False,
        fbi: str | None = None,
        sid: str | None = None,
        charges: Sequence[Mapping[str, Any]] | None = None,
        prints: Mapping[str, Any] | None = None,
        booking_id: str | None = None,
    ) -> Doc:
        """A booking from LEA ``ori`` (``booking.json``).

        Prints default to rolled ten-print (10 or 14 impressions) under the person's own
        biometric key, so a repeat booking of the same person carries the same key. With
        ``prior_arrest_in_state`` and no ``fbi``/``sid`` given, the person's remembered FBI
        number and SID are used (drawn the first time). Charges default to 1-3 drawn ones.
        """
        subject_doc = copy.deepcopy(dict(person)) if person is not None else self.person()
        subject = self._subject(subject_doc)
        if charges is None:
            charge_list = self.charges(self.rng.randint(1, 3), doa=doa)
        else:
            charge_list = copy.deepcopy([dict(c) for c in charges])
        own_prints = self.prints(PRINT_KINDS[1], key=subject.key) if prints is None else None
        print_doc = own_prints or dict(prints or {})
        if prior_arrest_in_state:
            fbi = fbi or subject.fbi or self.fbi_number()
            sid = sid or subject.sid or self.sid(ori[:2])
        subject.fbi = fbi or subject.fbi
        subject.sid = sid or subject.sid
        self._booking_count += 1
        out: Doc = {
            "ori": ori,
            "booking_id": booking_id or f"BK-{doa.year}-{self._booking_count:06d}",
            "person": subject_doc,
            "doa": ebts_date(doa),
            "charges": charge_list,
            "prints": print_doc,
            "prior_arrest_in_state": prior_arrest_in_state,
        }
        if fbi:
            out["fbi"] = fbi
        if sid:
            out["sid"] = sid
        return out
