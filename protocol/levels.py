"""Offense level (1, 2 or 3) of a 4-digit NCIC offense code, per the two Appendix A tables.

Sources:

* ``sop`` (the default): SOP ``004_f753154959b9aae6.txt`` section 4.0 "APPENDIX A", which is
  also the table appended to the MOA in ``001_501d03ac9734b5d4.txt``. The MOA's copy prints
  "Military (0201, 2099)", a typo: 2099 is Arson (Level 2). The SOP's "Military (0201, 0299)",
  the two codes 0201 and 0299, is followed here.
* ``strategic-plan``: the Strategic Plan's Appendix A in ``001_501d03ac9734b5d4.txt``. It has no
  National Security row: 0101-0199 is Level 3 "Sovereignty" (printed "0101-199", read as
  0101-0199), 1601 and 1602 are both Threats, 5201-5299 is all Weapon, 2401-2499 all Stolen
  Vehicles, 0201-0299 all Military.

Category names are as printed, without the footnote asterisk, and with the en dash (U+2013)
printed in "Extortion -Threat to Injure Person" written as an ASCII hyphen.

Both tables list drug offenses by sentence ("Drugs (Sentence >1 year)" Level 1, "Drugs (Sentence
< 1 year)" Level 2) but give no codes; the NCIC Dangerous Drugs codes 3501-3599 are used. A
sentence strictly longer than 365 days is Level 1, any other known sentence Level 2 (SOP 2.1.5:
Level 1 is "greater than one year", so exactly one year is Level 2). With the sentence unknown
the level is None ("drug offense: sentence length needed") rather than a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "DRUG_CODES",
    "ONE_YEAR_DAYS",
    "SOP_TABLE",
    "STRATEGIC_PLAN_TABLE",
    "TABLES",
    "Classification",
    "CodeRange",
    "Overlap",
    "Row",
    "Table",
    "highest_level",
    "offense_level",
    "overlaps",
]

CodeRange = tuple[int, int]


class Row(NamedTuple):
    """One Appendix A entry: a level, its category as printed, inclusive code ranges."""

    level: int
    category: str
    ranges: tuple[CodeRange, ...]


Table = tuple[Row, ...]


class Classification(NamedTuple):
    """The answer for one code: level and category (None when unclassified) and why."""

    level: int | None
    category: str | None
    table: str
    reason: str


class Overlap(NamedTuple):
    """Two rows of one table that claim the same code."""

    first: str
    first_range: CodeRange
    second: str
    second_range: CodeRange


DRUG_CODES: CodeRange = (3501, 3599)
ONE_YEAR_DAYS = 365

_DRUGS_OVER_ONE_YEAR = frozenset({"Drugs (Sentence >1 year)", "Drugs (Sentence > 1 year)"})
_DRUGS_ONE_YEAR_OR_LESS = frozenset({"Drugs (Sentence < 1 year)"})
_CODE_RE = re.compile(r"[0-9]{4}")


def _ranges(*spans: str) -> tuple[CodeRange, ...]:
    """Parse printed spans such as ``"0101-0199"`` or ``"1602"`` into inclusive int ranges."""
    parsed: list[CodeRange] = []
    for span in spans:
        low, _, high = span.partition("-")
        parsed.append((int(low), int(high or low)))
    return tuple(parsed)


_DRUGS = (DRUG_CODES,)

SOP_TABLE: Table = (
    Row(1, "National Security", _ranges("0101-0199", "1602", "5204-5299")),
    Row(1, "Homicide", _ranges("0901-0999")),
    Row(1, "Kidnapping", _ranges("1001-1099")),
    Row(1, "Sexual Assault", _ranges("1101-1199")),
    Row(1, "Robbery", _ranges("1201-1299")),
    Row(1, "Aggravated Assault", _ranges("1301-1399")),
    Row(1, "Threats", _ranges("1601")),
    Row(1, "Extortion -Threat to Injure Person", _ranges("2101")),
    Row(1, "Sex Offenses", _ranges("3601-3699")),
    Row(1, "Cruelty Toward Child, Wife", _ranges("3802", "3803")),
    Row(1, "Resisting an Officer", _ranges("4801")),
    Row(1, "Weapon", _ranges("5201-5203")),
    Row(1, "Hit and Run", _ranges("5401")),
    Row(1, "Drugs (Sentence >1 year)", _DRUGS),
    Row(2, "Arson", _ranges("2001-2099")),
    Row(2, "Burglary", _ranges("2201-2299")),
    Row(2, "Larceny", _ranges("2301-2399")),
    Row(2, "Stolen Vehicles", _ranges("2401-2411", "2499")),
    Row(2, "Forgery", _ranges("2501-2599")),
    Row(2, "Fraud", _ranges("2601-2699")),
    Row(2, "Embezzlement", _ranges("2701-2799")),
    Row(2, "Stolen Property", _ranges("2801-2899")),
    Row(2, "Damage Property w/Explosive", _ranges("2904-2906")),
    Row(2, "Traffic Offenses", _ranges("5402-5499")),
    Row(2, "Smuggling", _ranges("5801-5899")),
    Row(2, "Money Laundering", _ranges("6300")),
    Row(2, "Property Crimes", _ranges("7199")),
    Row(2, "Drugs (Sentence < 1 year)", _DRUGS),
    Row(3, "Military", _ranges("0201", "0299")),
    Row(3, "Immigration", _ranges("0301-0399")),
    Row(3, "Extortion", _ranges("2102-2199")),
    Row(3, "Damage Property", _ranges("2901-2903")),
    Row(3, "Family Offenses", _ranges("3801", "3804-3899")),
    Row(3, "Gambling", _ranges("3901-3999")),
    Row(3, "Commercialized Sex Offenses", _ranges("4001-4099")),
    Row(3, "Liquor", _ranges("4101-4199")),
    Row(3, "Obstructing the Police", _ranges("4802-4899")),
    Row(3, "Bribery", _ranges("5101-5199")),
    Row(3, "Health and Safety", _ranges("5501-5599")),
    Row(3, "Civil Rights", _ranges("5699")),
    Row(3, "Invasion of Privacy", _ranges("5701-5799")),
    Row(3, "Elections Laws", _ranges("5999")),
    Row(3, "Conservation", _ranges("6201-6299")),
    Row(3, "Public Order Crimes", _ranges("7399")),
)

STRATEGIC_PLAN_TABLE: Table = (
    Row(1, "Homicide", _ranges("0901-0999")),
    Row(1, "Kidnapping", _ranges("1001-1099")),
    Row(1, "Sexual Assault", _ranges("1101-1199")),
    Row(1, "Robbery", _ranges("1201-1299")),
    Row(1, "Assault", _ranges("1301-1399")),
    Row(1, "Threats", _ranges("1601", "1602")),
    Row(1, "Extortion -Threat to Injure Person", _ranges("2101")),
    Row(1, "Sex Offenses", _ranges("3601-3699")),
    Row(1, "Cruelty Toward Child, Wife", _ranges("3802", "3803")),
    Row(1, "Resisting an Officer", _ranges("4801")),
    Row(1, "Weapon", _ranges("5201-5299")),
    Row(1, "Hit and Run", _ranges("5401")),
    Row(1, "Drugs (Sentence > 1 year)", _DRUGS),
    Row(2, "Arson", _ranges("2001-2099")),
    Row(2, "Burglary", _ranges("2201-2299")),
    Row(2, "Larceny", _ranges("2301-2399")),
    Row(2, "Stolen Vehicles", _ranges("2401-2499")),
    Row(2, "Forgery", _ranges("2501-2599")),
    Row(2, "Fraud", _ranges("2601-2699")),
    Row(2, "Embezzlement", _ranges("2701-2799")),
    Row(2, "Stolen Property", _ranges("2801-2899")),
    Row(2, "Damage Property w/Explosive", _ranges("2904-2906")),
    Row(2, "Traffic Offenses", _ranges("5402-5499")),
    Row(2, "Smuggling", _ranges("5801-5899")),
    Row(2, "Money Laundering", _ranges("6300")),
    Row(2, "Property Crimes", _ranges("7199")),
    Row(2, "Drugs (Sentence < 1 year)", _DRUGS),
    Row(3, "Sovereignty", _ranges("0101-0199")),
    Row(3, "Military", _ranges("0201-0299")),
    Row(3, "Immigration", _ranges("0301-0399")),
    Row(3, "Extortion", _ranges("2102-2199")),
    Row(3, "Damage Property", _ranges("2901-2903")),
    Row(3, "Family Offenses", _ranges("3801", "3804-3899")),
    Row(3, "Gambling", _ranges("3901-3999")),
    Row(3, "Commercialized Sex Offenses", _ranges("4001-4099")),
    Row(3, "Liquor", _ranges("4101-4199")),
    Row(3, "Obstructing the Police", _ranges("4802-4899")),
    Row(3, "Bribery", _ranges("5101-5199")),
    Row(3, "Health and Safety", _ranges("5501-5599")),
    Row(3, "Civil Rights", _ranges("5699")),
    Row(3, "Invasion of Privacy", _ranges("5701-5799")),
    Row(3, "Elections Laws", _ranges("5999")),
    Row(3, "Conservation", _ranges("6201-6299")),
    Row(3, "Public Order Crimes", _ranges("7399")),
)

TABLES: Mapping[str, Table] = MappingProxyType(
    {"sop": SOP_TABLE, "strategic-plan": STRATEGIC_PLAN_TABLE}
)


def _sentence_rule(row: Row) -> bool | None:
    """True for a ">1 year" drug row, False for a "< 1 year" one, None for any other row."""
    if row.category in _DRUGS_OVER_ONE_YEAR:
        return True
    if row.category in _DRUGS_ONE_YEAR_OR_LESS:
        return False
    return None


def _span(code_range: CodeRange) -> str:
    low, high = code_range
    return f"{low:04d}" if low == high else f"{low:04d}-{high:04d}"


def _table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        known = ", ".join(repr(known) for known in TABLES)
        raise ValueError(f"unknown level table {name!r}: known tables are {known}") from None


def _code_number(code: object) -> int:
    if not isinstance(code, str) or _CODE_RE.fullmatch(code) is None:
        raise ValueError(
            f"NCIC offense code {code!r} is invalid: it must be a string of exactly 4 digits 0-9"
        )
    return int(code)


def overlaps(table: Table) -> list[Overlap]:
    """Every pair of ranges from two different rows that share a code.

    The two drug rows share 3501-3599 by design (the sentence tells them apart) and are not
    reported.
    """
    found: list[Overlap] = []
    for i, first in enumerate(table):
        for second in table[i + 1 :]:
            rules = (_sentence_rule(first), _sentence_rule(second))
            if None not in rules and rules[0] != rules[1]:
                continue
            for a in first.ranges:
                for b in second.ranges:
                    if a[0] <= b[1] and b[0] <= a[1]:
                        found.append(Overlap(first.category, a, second.category, b))
    return found


def offense_level(
    code: str, *, sentence_days: int | None = None, table: str = "sop"
) -> Classification:
    """Classify one NCIC offense code against the named Appendix A table.

    ``sentence_days`` matters only for drug codes (3501-3599). Raises ValueError for a code that
    is not exactly 4 digits, a negative sentence or an unknown table name.
    """
    rows = _table(table)
    number = _code_number(code)
    if sentence_days is not None and sentence_days < 0:
        raise ValueError(f"sentence_days must be >= 0, got {sentence_days}")

    hits = [(row, span) for row in rows for span in row.ranges if span[0] <= number <= span[1]]
    if not hits:
        return Classification(
            None, None, table, f"NCIC code {code} is in no Appendix A range of the {table} table"
        )
    if any(_sentence_rule(row) is not None for row, _ in hits):
        if sentence_days is None:
            return Classification(None, None, table, "drug offense: sentence length needed")
        over = sentence_days > ONE_YEAR_DAYS
        hits = [(row, span) for row, span in hits if _sentence_rule(row) in (None, over)]
        sentence = f"sentence {sentence_days} days ({'>' if over else '<='} {ONE_YEAR_DAYS}), "
    else:
        sentence = ""
    row, span = min(hits, key=lambda hit: (hit[1][1] - hit[1][0], hit[0].level))
    return Classification(
        row.level,
        row.category,
        table,
        f"NCIC code {code} is {row.category} ({_span(span)}), {sentence}"
        f"Level {row.level} of the {table} table",
    )


def highest_level(
    codes_with_sentences: Iterable[tuple[str, int | None]], *, table: str = "sop"
) -> int | None:
    """The most serious (lowest-numbered) level among ``(code, sentence_days)`` charges.

    None when no charge classifies. A charge whose level is None (no range, or a drug charge
    without a sentence) is left out, so check such charges with ``offense_level`` when a missing
    sentence could hide a Level 1.
    """
    levels = [
        result.level
        for code, days in codes_with_sentences
        if (result := offense_level(code, sentence_days=days, table=table)).level is not None
    ]
    return min(levels, default=None)
