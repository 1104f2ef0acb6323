"""Seeded, deterministic generator of synthetic people and Interoperability messages.

Everything here is made up: names come from faker (``en_US``), every identifier (FBI number, SID,
biometric key, system record locator, photo reference, ICE file number) is drawn from a seeded
``random.Random``. The same seed gives the same outputs in the same order. Messages are plain
``dict[str, Any]`` shaped by the JSON Schemas in ``schemas/``; tests check them with
``schemas.validate``, nothing here restates a schema.

Distributions follow the program briefing (``000_137f8fd4fc7e2853.txt``): 12% of transmissions
match in IDENT; of the matches about 8% are Level 1, 88% Level 2 or 3 and 4% US citizens; 95% of
IDENT records carry a photograph; 70% of IDENT records are flat two-print and 30% rolled ten-print.
"""

from __future__ import annotations

import copy
import datetime
import random
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar

from faker import Faker

import schemas
from protocol.detainer import custody_deadline
from protocol.ebts import (
    CJIS_ORI,
    LESC_ORI,
    dro_ori,
    ebts_date,
    gmt,
    parse_ebts_date,
    sib_ori_of,
    utc,
)
from protocol.levels import highest_level, offense_level

__all__ = [
    "ALIENAGES",
    "CHARGES",
    "DETAINER_ACTIONS",
    "DRUG_CHARGE",
    "ERROR_SAMPLES",
    "FOREIGN_POB",
    "PHOTO_RATE",
    "PRINT_KINDS",
    "REFERENCE_YEAR",
    "STATE_CODES",
    "TWO_PRINT_SHARE",
    "Doc",
    "Synthesizer",
    "normalize_name",
]

Doc = dict[str, Any]

REFERENCE_YEAR: Final = 2026
"""People are 18 to 70 years old on every day of this year."""
TWO_PRINT_SHARE: Final = 0.70
"""Share of IDENT records that are flat two-print (briefing: 70% two-print, 30% ten-print)."""
PHOTO_RATE: Final = 0.95
"""Share of IDENT records with a photograph (briefing: 95%)."""
PRINT_KINDS: Final = ("flat-two-print", "rolled-ten-print")
ALIENAGES: Final = ("alien", "us-citizen", "undetermined")
DETAINER_ACTIONS: Final = (
    "investigation-initiated",
    "notice-to-appear-served",
    "removal-order",
    "deportable-alien-determined",
)

STATE_CODES: Final[tuple[str, ...]] = tuple(schemas.schema("common")["$defs"]["state_code"]["enum"])
"""NCIC state codes, as listed by ``common.json#/$defs/state_code``."""

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

ERROR_SAMPLES: Final[tuple[tuple[str, str, str], ...]] = (
    ("E0001", "$.type2.dob", "DOB (2.022) is mandatory for TOT CAR and is missing"),
    ("E0001", "$.type2.doa", "DOA (2.045) is mandatory and is missing"),
    ("E0002", "$.type2.pob", "POB (2.020) is not a valid NCIC state or country code"),
    ("E0002", "$.type2.nam", "NAM (2.018) must be SURNAME,GIVEN in upper case"),
    ("E0003", "$.type2.doa", "DOA (2.045) is after the transaction date"),
    ("E0006", "$.type2.fbi", "FBI (2.014) does not match the record retrieved for the CPI"),
    ("A0004", "$.type1.ori", "ORI (1.008) is not authorized for this TOT"),
    ("H0001", "$.type1.tcn", "TCN (1.009) is missing"),
    ("H0002", "$.type1.dai", "DAI (1.007) is not the CJIS ORI"),
    ("H0003", "$.type1.dat", "DAT (1.005) is inconsistent with GMT (1.014)"),
)
"""(code, field, text) examples of ERRT problems, for tests and strategies."""

_CHARGE_LITERALS: Final = dict(CHARGES)
_DOB_FIRST: Final = datetime.date(REFERENCE_YEAR - 70, 1, 1)
_DOB_LAST: Final = datetime.date(REFERENCE_YEAR - 18, 1, 1)
_NAM_MAX: Final = 50
_BY_TCN_LIMIT: Final = 10_000

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


_format_gmt = gmt  # methods take a parameter called ``gmt``


# --- names ------------------------------------------------------------------------------------

_TRANSLITERATE: Final = str.maketrans(
    {
        "Ø": "O",
        "ø": "o",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Þ": "TH",
        "þ": "th",
        "ß": "ss",
        "\u0131": "i",
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "`": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2013": "-",
        "\u2014": "-",
    }
)
_NOT_NAM: Final = re.compile(r"[^A-Z' \-]+")
_SPACES: Final = re.compile(r" {2,}")
_EDGE: Final = " '-"


def _clean(text: str) -> str:
    """Upper-case ASCII letters, space, apostrophe and hyphen only, starting with a letter."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    stripped = stripped.translate(_TRANSLITERATE)  # upper-casing may reveal more (e.g. "ß")
    cleaned = _SPACES.sub(" ", _NOT_NAM.sub(" ", stripped))
    return cleaned.lstrip(_EDGE).rstrip(_EDGE)


def normalize_name(surname: str, given: str, middle: str = "") -> str:
    """An EBTS NAM ``SURNAME,GIVEN MIDDLE`` of at most 50 characters.

    Accents are stripped, letters upper-cased, anything but letters, space, apostrophe and hyphen
    becomes a space. An empty part becomes ``UNKNOWN``. Too long a name loses its middle name
    (keeping the initial when it fits), then the given name and the surname are cut, the surname
    kept to at most 49 minus the given name's first 15 characters; the comma form always stays.
    """
    sur = _clean(surname) or "UNKNOWN"
    first = _clean(given) or "UNKNOWN"
    mid = _clean(middle)
    full = f"{sur},{first} {mid}" if mid else f"{sur},{first}"
    if len(full) <= _NAM_MAX:
        return full
    if mid and len(f"{sur},{first} {mid[0]}") <= _NAM_MAX:
        return f"{sur},{first} {mid[0]}"
    if len(f"{sur},{first}") <= _NAM_MAX:
        return f"{sur},{first}"
    sur = sur[: max(1, _NAM_MAX - 1 - min(len(first), 15))].rstrip(_EDGE)
    first = first[: _NAM_MAX - 1 - len(sur)].rstrip(_EDGE)
    return f"{sur},{first}"


def _split_nam(nam: str) -> tuple[str, str, str]:
    sur, _, rest = nam.partition(",")
    given, _, middle = rest.partition(" ")
    return sur, given, middle


# --- the generator ----------------------------------------------------------------------------


_T = TypeVar("_T")


def _weighted(rng: random.Random, pairs: Sequence[tuple[_T, float]]) -> _T:
    values = [v for v, _ in pairs]
    weights = [w for _, w in pairs]
    return rng.choices(values, weights=weights, k=1)[0]


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


_LEVELS: Final = {table: _by_level(table) for table in ("sop", "strategic-plan")}


class _Subject:
    """What the generator remembers of a person: biometric key, FBI number and SID."""

    __slots__ = ("fbi", "key", "sid")

    def __init__(self, key: str) -> None:
        self.key = key
        self.fbi: str | None = None
        self.sid: str | None = None


class Synthesizer:
    """Seeded generator of synthetic people and messages; same seed, same outputs in order.

    The generator remembers each person it has seen (by name and date of birth) with a biometric
    key, so every booking of the same person carries the same key, and the person behind each
    submission TCN it built (the last 10,000), so responses can name the subject of a CPI.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.faker = Faker("en_US")
        self.faker.seed_instance(seed)
        self._issued: set[str] = set()
        self._subjects: dict[tuple[str, str], _Subject] = {}
        self._by_tcn: dict[str, Doc] = {}
        self._tcn_count = 0
        self._response_count = 0
        self._booking_count = 0

    # -- identifiers -----------------------------------------------------------------------

    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self._issued:
                self._issued.add(value)
                return value

    def _hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}X}"

    def biometric_key(self) -> str:
        """A fresh synthetic biometric key, ``SYN-`` and 16 upper-case hex digits."""
        return self._unique(lambda: f"SYN-{self._hex(16)}")

    def fbi_number(self) -> str:
        """A fresh synthetic FBI number: seven digits and two letters."""
        letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
        return self._unique(
            lambda: (
                f"{self.rng.randrange(10**6, 10**7)}"
                f"{self.rng.choice(letters)}{self.rng.choice(letters)}"
            )
        )

    def sid(self, state: str) -> str:
        """A fresh synthetic State Identification Number: state code and eight digits."""
        return self._unique(lambda: f"{state}{self.rng.randrange(10**8):08d}")

    def srl(self) -> str:
        """A fresh synthetic IDENT system record locator, ``SRL-`` and 12 hex digits."""
        return self._unique(lambda: f"SRL-{self._hex(12)}")

    def photo_ref(self) -> str:
        """A fresh synthetic photograph reference, ``synthetic://photo/`` and 16 hex digits."""
        return self._unique(lambda: f"synthetic://photo/{self._hex(16).lower()}")

    def file_number(self) -> str:
        """A fresh synthetic ICE file number, ``SYN-A`` and nine digits."""
        return self._unique(lambda: f"SYN-A{self.rng.randrange(10**9):09d}")

    def tcn(self, ori: str, day: datetime.date) -> str:
        """A submission TCN unique to this generator: ``{ori}-{CCYYMMDD}-{n:06d}``."""
        self._tcn_count += 1
        return f"{ori}-{ebts_date(day)}-{self._tcn_count:06d}"

    def response_tcn(self, tot: str, day: datetime.date) -> str:
        """A response TCN unique to this generator: ``{TOT}-{CCYYMMDD}-{n:06d}``."""
        self._response_count += 1
        return f"{tot}-{ebts_date(day)}-{self._response_count:06d}"

    # -- ORIs ------------------------------------------------------------------------------

    def lea_ori(self, state: str) -> str:
        """A county LEA ORI: state, 3-digit county (001-199), 2-digit agency, ``00``."""
        county = self.rng.randint(1, 199)
        agency = self.rng.randint(0, 99)
        return f"{state}{county:03d}{agency:02d}00"

    def leas(self, state: str, n: int) -> list[str]:
        """``n`` distinct LEA ORIs of ``state``."""
        if not 0 <= n <= 199 * 100:
            raise ValueError(f"cannot make {n} distinct LEA ORIs")
        found: list[str] = []
        while len(found) < n:
            ori = self.lea_ori(state)
            if ori not in found:
                found.append(ori)
        return found

    @staticmethod
    def sib_ori(state: str) -> str:
        """The SIB's ORI: the state code and seven zeros."""
        return f"{state}0000000"

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
        sex = _weighted(rng, [("M", 0.74), ("F", 0.25), ("U", 0.01)])
        nam = self.name(sex)
        person: Doc = {"nam": nam}
        if rng.random() < 0.25:
            person["aka"] = [self._alias(nam, sex) for _ in range(rng.randint(1, 2))]
        person["pob"] = self.pob()
        person["dob"] = ebts_date(self._dob())
        person["sex"] = sex
        person["rac"] = _weighted(
            rng, [("W", 0.60), ("B", 0.27), ("A", 0.03), ("I", 0.03), ("U", 0.07)]
        )
        inches = rng.randint(62, 77) if sex == "M" else rng.randint(58, 71)
        person["hgt"] = f"{inches // 12}{inches % 12:02d}"
        person["wgt"] = f"{rng.randint(105, 330):03d}"
        person["eye"] = _weighted(
            rng, [("BRO", 0.55), ("BLU", 0.25), ("HAZ", 0.08), ("GRN", 0.07), ("GRY", 0.05)]
        )
        person["hai"] = _weighted(
            rng, [("BLK", 0.35), ("BRO", 0.40), ("BLN", 0.10), ("RED", 0.04), ("GRY", 0.11)]
        )
        person.update(overrides)
        self._subject(person)  # draw the person's biometric key now, in order
        return person

    def _alias(self, nam: str, sex: str) -> str:
        sur, given, _ = _split_nam(nam)
        if self.rng.random() < 0.5:
            return normalize_name(sur, self._given(sex))
        return normalize_name(self._surname(), given)

    def name_variant(self, nam: str) -> str:
        """The same name as another record might hold it.

        Without the middle name, with its initial only, with the first half of a hyphenated
        surname, or else with surname and given name transposed.
        """
        sur, given, middle = _split_nam(nam)
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
            group = _weighted(rng, [(1, 0.15), (2, 0.45), (3, 0.30), (0, 0.10)])
            code, literal = DRUG_CHARGE if group == 0 else rng.choice(_LEVELS["sop"][group])
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

    # -- IDENT and LESC --------------------------------------------------------------------

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
            code, literal = rng.choice(_LEVELS[table][level])
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
        rng = self.rng
        if alienage is None:
            usc = 0.04 if offense_level is None else 0.0
            alienage = _weighted(
                rng, [("alien", 0.94), ("us-citizen", usc), ("undetermined", 0.02)]
            )
        if alienage not in ALIENAGES:
            raise ValueError(f"alienage must be one of {ALIENAGES}, not {alienage!r}")
        if alienage == "us-citizen":
            if offense_level is not None:
                raise ValueError("a US citizen has no offense level (iar.json)")
            removability = "not-applicable"
            level: int | None = None
            entries = [dict(h) for h in history] if history is not None else []
        elif history is not None:
            entries = [dict(h) for h in history]
            level = offense_level
            if level is None:
                level = highest_level(
                    ((str(e["ncic"]), e.get("sentence_days")) for e in entries), table=level_table
                )
        else:
            level = offense_level
            if level is None:
                level = _weighted(rng, [(1, 8.0), (2, 44.0), (3, 44.0)])
            entries = self.history(person, level=level, table=level_table)
        if removability is None:
            if alienage == "alien":
                removability = _weighted(
                    rng, [("removable", 0.80), ("not-removable", 0.15), ("undetermined", 0.05)]
                )
            else:
                removability = "undetermined"
        out: Doc = {"nam": person["nam"], "dob": person["dob"]}
        if fbi:
            out["fbi"] = fbi
        out["alienage"] = alienage
        out["removability"] = removability
        out["status"] = status or rng.choice(_STATUS.get(removability, ("STATUS UNDETERMINED",)))
        out["history"] = entries
        out["offense_level"] = level
        out["level_table"] = level_table
        out["dro"] = dro
        return out

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
        return sib_ori or sib_ori_of(str(submission["type1"]["ori"]))

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

    # -- configuration documents -----------------------------------------------------------

    def sut_profile(
        self,
        state: str | None = None,
        *,
        nff: bool | None = None,
        message_routing: bool | None = None,
        activated: int = 3,
        opted_out: int = 1,
        lea_inbox_base: str = "http://127.0.0.1:8700/lea",
        sut_url: str | None = "http://127.0.0.1:8701",
        follows_virtual_clock: bool = True,
    ) -> Doc:
        """A SUT profile (``sut-profile.json``): ``activated`` LEAs, the first ``opted_out`` of
        them opted out of IDR/IAR receipt."""
        if not 0 <= opted_out <= activated:
            raise ValueError("the opted-out ORIs are some of the activated ones")
        state = state or self.rng.choice(STATE_CODES)
        oris = self.leas(state, activated)
        out: Doc = {
            "state": state,
            "sib_ori": self.sib_ori(state),
            "cjis_dai": CJIS_ORI,
            "nff": self.rng.random() < 0.5 if nff is None else nff,
            "message_routing": self.rng.random() < 0.5
            if message_routing is None
            else message_routing,
            "activated_oris": oris,
            "opted_out_oris": oris[:opted_out],
            "lea_inbox_base": lea_inbox_base,
        }
        if sut_url is not None:
            out["sut_url"] = sut_url
        out["follows_virtual_clock"] = follows_virtual_clock
        return out

    _STEP_RANGES: Final[Mapping[str, tuple[float, float]]] = {
        "sre": (30.0, 600.0),
        "idr": (60.0, 900.0),
        "iar": (900.0, 14400.0),
        "idr_alone_after": (86400.0, 86400.0),
        "no_match_idr": (60.0, 86400.0),
        "errt": (1.0, 60.0),
    }
    _SOP_STEPS: Final[Mapping[str, float]] = {
        "sre": 120.0,
        "idr": 900.0,
        "iar": 14400.0,
        "idr_alone_after": 86400.0,
        "no_match_idr": 900.0,
        "errt": 5.0,
    }
    TIMING_SHAPES: Final = ("sop", "fixed", "uniform", "lognormal", "mixed")

    def _delay(self, shape: str, step: str) -> Doc:
        low, high = self._STEP_RANGES[step]
        if shape == "mixed":
            shape = self.rng.choice(self.TIMING_SHAPES[1:4])
        if shape == "fixed" or low == high:
            return {"fixed": round(self.rng.uniform(low, high))}
        if shape == "uniform":
            a, b = sorted((round(self.rng.uniform(low, high)), round(self.rng.uniform(low, high))))
            return {"uniform": {"low": a, "high": b}}
        median = round(self.rng.uniform(low, (low + high) / 2), 1)
        sigma = round(self.rng.uniform(0.2, 1.0), 2)
        return {"lognormal": {"median": median, "sigma": sigma, "max": high}}

    FAULT_KINDS: Final = (
        "errt",
        "http-500",
        "http-503",
        "connection-reset",
        "hang",
        "duplicate-delivery",
        "out-of-order",
        "malformed-delivery",
        "invalid-delivery",
    )

    def fault(self, kind: str | None = None) -> Doc:
        """A fault to inject (``scenario.json#/$defs/fault``) with the settings its kind uses."""
        kind = kind or self.rng.choice(self.FAULT_KINDS)
        out: Doc = {"kind": kind}
        if kind in {"http-500", "http-503", "connection-reset"}:
            out["times"] = self.rng.randint(1, 3)
        elif kind == "hang":
            out["seconds"] = round(self.rng.uniform(0, 5), 1)
        elif kind == "errt":
            code, field, _ = self.rng.choice(ERROR_SAMPLES)
            out.update(code=code, field=field, permanent=self.rng.random() < 0.7)
        return out

    def scenario(self, state: str | None = None, *, overrides: int = 2, faults: int = 1) -> Doc:
        """A scenario for the mocks (``scenario.json``) with a few overrides and faults."""
        state = state or self.rng.choice(STATE_CODES)
        leas = self.leas(state, 4)
        out: Doc = {
            "name": f"synthetic-{self.rng.randrange(10**6)}",
            "seed": self.rng.randrange(2**31),
            "timing": self.rng.choice(["sop", "slow-iar", self.timing_profile()]),
            "activated_oris": self.rng.choice([["*"], leas[:3]]),
            "nff_states": self.rng.choice([[], [state]]),
            "ident": {
                "match_rate": round(self.rng.uniform(0, 1), 3),
                "level_1": 0.08,
                "us_citizen": 0.04,
                "ten_print": 0.3,
            },
            "late_iar": self.rng.choice(["deliver", "drop"]),
            "subjects": [{"fbi": self.fbi_number(), "biometric_key": self.biometric_key()}],
            "faults": [self.fault() for _ in range(faults)],
        }
        out["overrides"] = [
            {
                "when": self.rng.choice(
                    [{"ori": self.rng.choice(leas)}, {"biometric_key": self.biometric_key()}]
                ),
                "outcome": {"ident": "match", "offense_level": self.rng.randint(1, 3)},
                "faults": [self.fault()],
            }
            for _ in range(overrides)
        ]
        return out

    def timing_profile(
        self, shape: str = "mixed", *, name: str | None = None, seed: int | None = None
    ) -> Doc:
        """A timing profile (``timing-profile.json``) of the given ``shape``.

        ``sop`` is the briefing's fixed times; ``fixed``, ``uniform`` and ``lognormal`` draw
        every step in that form within the step's plausible range; ``mixed`` draws each step's
        form.
        """
        if shape not in self.TIMING_SHAPES:
            raise ValueError(f"shape must be one of {self.TIMING_SHAPES}, not {shape!r}")
        if shape == "sop":
            steps: Doc = {step: {"fixed": secs} for step, secs in self._SOP_STEPS.items()}
        else:
            steps = {step: self._delay(shape, step) for step in self._STEP_RANGES}
        out: Doc = {"name": name or f"synthetic-{shape}", "steps": steps}
        if shape != "sop":
            out["seed"] = self.rng.randrange(2**31) if seed is None else seed
        return out
