"""Offense levels: both Appendix A tables, transcribed here by hand from the seed text."""

from __future__ import annotations

import re

import pytest

from protocol.levels import (
    DRUG_CODES,
    TABLES,
    Classification,
    Row,
    highest_level,
    offense_level,
    overlaps,
)

# SOP 004_f753154959b9aae6.txt section 4.0, low and high code of every range of every row.
SOP_ROWS: list[tuple[str, int, str]] = [
    ("0101", 1, "National Security"),
    ("0199", 1, "National Security"),
    ("1602", 1, "National Security"),
    ("5204", 1, "National Security"),
    ("5299", 1, "National Security"),
    ("0901", 1, "Homicide"),
    ("0999", 1, "Homicide"),
    ("1001", 1, "Kidnapping"),
    ("1099", 1, "Kidnapping"),
    ("1101", 1, "Sexual Assault"),
    ("1199", 1, "Sexual Assault"),
    ("1201", 1, "Robbery"),
    ("1299", 1, "Robbery"),
    ("1301", 1, "Aggravated Assault"),
    ("1399", 1, "Aggravated Assault"),
    ("1601", 1, "Threats"),
    ("2101", 1, "Extortion -Threat to Injure Person"),
    ("3601", 1, "Sex Offenses"),
    ("3699", 1, "Sex Offenses"),
    ("3802", 1, "Cruelty Toward Child, Wife"),
    ("3803", 1, "Cruelty Toward Child, Wife"),
    ("4801", 1, "Resisting an Officer"),
    ("5201", 1, "Weapon"),
    ("5203", 1, "Weapon"),
    ("5401", 1, "Hit and Run"),
    ("2001", 2, "Arson"),
    ("2099", 2, "Arson"),
    ("2201", 2, "Burglary"),
    ("2299", 2, "Burglary"),
    ("2301", 2, "Larceny"),
    ("2399", 2, "Larceny"),
    ("2401", 2, "Stolen Vehicles"),
    ("2411", 2, "Stolen Vehicles"),
    ("2499", 2, "Stolen Vehicles"),
    ("2501", 2, "Forgery"),
    ("2599", 2, "Forgery"),
    ("2601", 2, "Fraud"),
    ("2699", 2, "Fraud"),
    ("2701", 2, "Embezzlement"),
    ("2799", 2, "Embezzlement"),
    ("2801", 2, "Stolen Property"),
    ("2899", 2, "Stolen Property"),
    ("2904", 2, "Damage Property w/Explosive"),
    ("2906", 2, "Damage Property w/Explosive"),
    ("5402", 2, "Traffic Offenses"),
    ("5499", 2, "Traffic Offenses"),
    ("5801", 2, "Smuggling"),
    ("5899", 2, "Smuggling"),
    ("6300", 2, "Money Laundering"),
    ("7199", 2, "Property Crimes"),
    ("0201", 3, "Military"),
    ("0299", 3, "Military"),
    ("0301", 3, "Immigration"),
    ("0399", 3, "Immigration"),
    ("2102", 3, "Extortion"),
    ("2199", 3, "Extortion"),
    ("2901", 3, "Damage Property"),
    ("2903", 3, "Damage Property"),
    ("3801", 3, "Family Offenses"),
    ("3804", 3, "Family Offenses"),
    ("3899", 3, "Family Offenses"),
    ("3901", 3, "Gambling"),
    ("3999", 3, "Gambling"),
    ("4001", 3, "Commercialized Sex Offenses"),
    ("4099", 3, "Commercialized Sex Offenses"),
    ("4101", 3, "Liquor"),
    ("4199", 3, "Liquor"),
    ("4802", 3, "Obstructing the Police"),
    ("4899", 3, "Obstructing the Police"),
    ("5101", 3, "Bribery"),
    ("5199", 3, "Bribery"),
    ("5501", 3, "Health and Safety"),
    ("5599", 3, "Health and Safety"),
    ("5699", 3, "Civil Rights"),
    ("5701", 3, "Invasion of Privacy"),
    ("5799", 3, "Invasion of Privacy"),
    ("5999", 3, "Elections Laws"),
    ("6201", 3, "Conservation"),
    ("6299", 3, "Conservation"),
    ("7399", 3, "Public Order Crimes"),
]

# Strategic Plan, 001_501d03ac9734b5d4.txt "Appendix A: National Crimes Information Center ...".
STRATEGIC_PLAN_ROWS: list[tuple[str, int, str]] = [
    ("0901", 1, "Homicide"),
    ("0999", 1, "Homicide"),
    ("1001", 1, "Kidnapping"),
    ("1099", 1, "Kidnapping"),
    ("1101", 1, "Sexual Assault"),
    ("1199", 1, "Sexual Assault"),
    ("1201", 1, "Robbery"),
    ("1299", 1, "Robbery"),
    ("1301", 1, "Assault"),
    ("1399", 1, "Assault"),
    ("1601", 1, "Threats"),
    ("1602", 1, "Threats"),
    ("2101", 1, "Extortion -Threat to Injure Person"),
    ("3601", 1, "Sex Offenses"),
    ("3699", 1, "Sex Offenses"),
    ("3802", 1, "Cruelty Toward Child, Wife"),
    ("3803", 1, "Cruelty Toward Child, Wife"),
    ("4801", 1, "Resisting an Officer"),
    ("5201", 1, "Weapon"),
    ("5299", 1, "Weapon"),
    ("5401", 1, "Hit and Run"),
    ("2001", 2, "Arson"),
    ("2099", 2, "Arson"),
    ("2201", 2, "Burglary"),
    ("2299", 2, "Burglary"),
    ("2301", 2, "Larceny"),
    ("2399", 2, "Larceny"),
    ("2401", 2, "Stolen Vehicles"),
    ("2499", 2, "Stolen Vehicles"),
    ("2501", 2, "Forgery"),
    ("2599", 2, "Forgery"),
    ("2601", 2, "Fraud"),
    ("2699", 2, "Fraud"),
    ("2701", 2, "Embezzlement"),
    ("2799", 2, "Embezzlement"),
    ("2801", 2, "Stolen Property"),
    ("2899", 2, "Stolen Property"),
    ("2904", 2, "Damage Property w/Explosive"),
    ("2906", 2, "Damage Property w/Explosive"),
    ("5402", 2, "Traffic Offenses"),
    ("5499", 2, "Traffic Offenses"),
    ("5801", 2, "Smuggling"),
    ("5899", 2, "Smuggling"),
    ("6300", 2, "Money Laundering"),
    ("7199", 2, "Property Crimes"),
    ("0101", 3, "Sovereignty"),
    ("0199", 3, "Sovereignty"),
    ("0201", 3, "Military"),
    ("0299", 3, "Military"),
    ("0301", 3, "Immigration"),
    ("0399", 3, "Immigration"),
    ("2102", 3, "Extortion"),
    ("2199", 3, "Extortion"),
    ("2901", 3, "Damage Property"),
    ("2903", 3, "Damage Property"),
    ("3801", 3, "Family Offenses"),
    ("3804", 3, "Family Offenses"),
    ("3899", 3, "Family Offenses"),
    ("3901", 3, "Gambling"),
    ("3999", 3, "Gambling"),
    ("4001", 3, "Commercialized Sex Offenses"),
    ("4099", 3, "Commercialized Sex Offenses"),
    ("4101", 3, "Liquor"),
    ("4199", 3, "Liquor"),
    ("4802", 3, "Obstructing the Police"),
    ("4899", 3, "Obstructing the Police"),
    ("5101", 3, "Bribery"),
    ("5199", 3, "Bribery"),
    ("5501", 3, "Health and Safety"),
    ("5599", 3, "Health and Safety"),
    ("5699", 3, "Civil Rights"),
    ("5701", 3, "Invasion of Privacy"),
    ("5799", 3, "Invasion of Privacy"),
    ("5999", 3, "Elections Laws"),
    ("6201", 3, "Conservation"),
    ("6299", 3, "Conservation"),
    ("7399", 3, "Public Order Crimes"),
]

DRUG_CATEGORIES = {
    "sop": {1: "Drugs (Sentence >1 year)", 2: "Drugs (Sentence < 1 year)"},
    "strategic-plan": {1: "Drugs (Sentence > 1 year)", 2: "Drugs (Sentence < 1 year)"},
}

SEED_ROWS: list[tuple[str, str, int, str]] = [("sop", *row) for row in SOP_ROWS] + [
    ("strategic-plan", *row) for row in STRATEGIC_PLAN_ROWS
]

BOUNDARIES: list[tuple[str, str, int | None, str | None]] = [
    ("sop", "1601", 1, "Threats"),
    ("sop", "1602", 1, "National Security"),
    ("strategic-plan", "1601", 1, "Threats"),
    ("strategic-plan", "1602", 1, "Threats"),
    ("sop", "5203", 1, "Weapon"),
    ("sop", "5204", 1, "National Security"),
    ("strategic-plan", "5203", 1, "Weapon"),
    ("strategic-plan", "5204", 1, "Weapon"),
    ("sop", "2099", 2, "Arson"),
    ("sop", "2100", None, None),
    ("sop", "2101", 1, "Extortion -Threat to Injure Person"),
    ("strategic-plan", "2099", 2, "Arson"),
    ("strategic-plan", "2100", None, None),
    ("strategic-plan", "2101", 1, "Extortion -Threat to Injure Person"),
    ("sop", "0100", None, None),
    ("strategic-plan", "0100", None, None),
    ("sop", "0101", 1, "National Security"),
    ("strategic-plan", "0101", 3, "Sovereignty"),
    ("sop", "2411", 2, "Stolen Vehicles"),
    ("sop", "2412", None, None),
    ("sop", "2498", None, None),
    ("sop", "2499", 2, "Stolen Vehicles"),
    ("strategic-plan", "2411", 2, "Stolen Vehicles"),
    ("strategic-plan", "2412", 2, "Stolen Vehicles"),
    ("strategic-plan", "2499", 2, "Stolen Vehicles"),
    ("sop", "0201", 3, "Military"),
    ("sop", "0250", None, None),
    ("sop", "0299", 3, "Military"),
    ("strategic-plan", "0201", 3, "Military"),
    ("strategic-plan", "0250", 3, "Military"),
    ("strategic-plan", "0299", 3, "Military"),
    ("sop", "3801", 3, "Family Offenses"),
    ("sop", "3802", 1, "Cruelty Toward Child, Wife"),
    ("sop", "3803", 1, "Cruelty Toward Child, Wife"),
    ("sop", "3804", 3, "Family Offenses"),
    ("sop", "4801", 1, "Resisting an Officer"),
    ("sop", "4802", 3, "Obstructing the Police"),
    ("sop", "5401", 1, "Hit and Run"),
    ("sop", "5402", 2, "Traffic Offenses"),
    ("sop", "2903", 3, "Damage Property"),
    ("sop", "2904", 2, "Damage Property w/Explosive"),
    ("sop", "0000", None, None),
    ("sop", "5698", None, None),
    ("sop", "6301", None, None),
    ("sop", "9999", None, None),
    ("strategic-plan", "0000", None, None),
    ("strategic-plan", "9999", None, None),
]


@pytest.mark.parametrize(("table", "code", "level", "category"), SEED_ROWS)
def test_every_seed_range_end_classifies_as_printed(
    table: str, code: str, level: int, category: str
) -> None:
    result = offense_level(code, table=table)
    assert (result.level, result.category, result.table) == (level, category, table)
    assert f"Level {level}" in result.reason


@pytest.mark.parametrize(("table", "code", "level", "category"), BOUNDARIES)
def test_boundary_codes(table: str, code: str, level: int | None, category: str | None) -> None:
    result = offense_level(code, table=table)
    assert (result.level, result.category) == (level, category)


def test_default_table_is_sop() -> None:
    assert offense_level("0101") == offense_level("0101", table="sop")
    assert offense_level("0101").table == "sop"


@pytest.mark.parametrize("table", ["sop", "strategic-plan"])
def test_unclassified_reason(table: str) -> None:
    assert offense_level("2100", table=table) == Classification(
        None, None, table, f"NCIC code 2100 is in no Appendix A range of the {table} table"
    )


@pytest.mark.parametrize("table", ["sop", "strategic-plan"])
@pytest.mark.parametrize(
    ("code", "sentence_days", "level"),
    [
        ("3550", 366, 1),
        ("3550", 365, 2),
        ("3550", 0, 2),
        ("3550", 3650, 1),
        ("3501", 366, 1),
        ("3599", 366, 1),
        ("3501", 30, 2),
        ("3599", 30, 2),
    ],
)
def test_drug_level_splits_on_sentence_over_one_year(
    table: str, code: str, sentence_days: int, level: int
) -> None:
    result = offense_level(code, sentence_days=sentence_days, table=table)
    assert result.level == level
    assert result.category == DRUG_CATEGORIES[table][level]


@pytest.mark.parametrize("table", ["sop", "strategic-plan"])
def test_drug_without_sentence_is_not_guessed(table: str) -> None:
    assert offense_level("3550", table=table) == Classification(
        None, None, table, "drug offense: sentence length needed"
    )


@pytest.mark.parametrize("code", ["3500", "3600"])
def test_codes_beside_the_drug_range(code: str) -> None:
    assert offense_level(code, sentence_days=400).level is None


def test_sentence_ignored_for_non_drug_codes() -> None:
    assert offense_level("1301", sentence_days=10) == offense_level("1301")


def test_drug_codes_constant() -> None:
    assert DRUG_CODES == (3501, 3599)


@pytest.mark.parametrize(
    "code", ["12", "12345", "ABCD", "", " 123", "12a4", "\uff11\uff12\uff13\uff14", "-123"]
)
def test_invalid_code_raises_naming_it(code: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(code))):
        offense_level(code)


def test_non_string_code_raises() -> None:
    with pytest.raises(ValueError, match="1234"):
        offense_level(1234)  # type: ignore[arg-type]


def test_unknown_table_lists_known_names() -> None:
    with pytest.raises(ValueError, match="moa") as excinfo:
        offense_level("1301", table="moa")
    assert "'sop'" in str(excinfo.value)
    assert "'strategic-plan'" in str(excinfo.value)


def test_negative_sentence_raises() -> None:
    with pytest.raises(ValueError, match="sentence_days"):
        offense_level("3550", sentence_days=-1)


def test_classification_is_frozen() -> None:
    result = offense_level("1301")
    with pytest.raises(AttributeError):
        result.level = 2  # type: ignore[misc]


def test_table_names() -> None:
    assert set(TABLES) == {"sop", "strategic-plan"}


@pytest.mark.parametrize(
    ("table", "rows"), [("sop", SOP_ROWS), ("strategic-plan", STRATEGIC_PLAN_ROWS)]
)
def test_table_rows_match_the_transcription(table: str, rows: list[tuple[str, int, str]]) -> None:
    expected = {(level, category) for _, level, category in rows}
    expected |= {(level, category) for level, category in DRUG_CATEGORIES[table].items()}
    assert {(row.level, row.category) for row in TABLES[table]} == expected
    assert len(TABLES[table]) == len(expected)


@pytest.mark.parametrize("table", ["sop", "strategic-plan"])
def test_ranges_are_well_formed(table: str) -> None:
    for row in TABLES[table]:
        assert row.level in {1, 2, 3}
        assert row.ranges
        for low, high in row.ranges:
            assert 0 <= low <= high <= 9999


@pytest.mark.parametrize("table", ["sop", "strategic-plan"])
def test_tables_have_no_overlaps(table: str) -> None:
    assert overlaps(TABLES[table]) == []


def test_overlaps_finds_a_shared_code() -> None:
    table = (
        Row(1, "A", ((1, 10),)),
        Row(2, "B", ((10, 20), (30, 40))),
        Row(3, "C", ((35, 35),)),
    )
    assert [tuple(o) for o in overlaps(table)] == [
        ("A", (1, 10), "B", (10, 20)),
        ("B", (30, 40), "C", (35, 35)),
    ]


def test_overlaps_reports_a_drug_row_against_another_row() -> None:
    table = (
        Row(1, "Drugs (Sentence >1 year)", (DRUG_CODES,)),
        Row(2, "Drugs (Sentence < 1 year)", (DRUG_CODES,)),
        Row(3, "Other", ((3550, 3550),)),
    )
    assert [(o.first, o.second) for o in overlaps(table)] == [
        ("Drugs (Sentence >1 year)", "Other"),
        ("Drugs (Sentence < 1 year)", "Other"),
    ]


@pytest.mark.parametrize(
    ("charges", "table", "expected"),
    [
        ([("2301", None), ("1301", None)], "sop", 1),
        ([("2301", None), ("4101", None)], "sop", 2),
        ([("4101", None)], "sop", 3),
        ([("0101", None)], "sop", 1),
        ([("0101", None)], "strategic-plan", 3),
        ([("0101", None), ("2412", None)], "strategic-plan", 2),
        ([("2100", None)], "sop", None),
        ([], "sop", None),
        ([("3550", None), ("2301", None)], "sop", 2),
        ([("3550", 400), ("2301", None)], "sop", 1),
        ([("3550", None)], "sop", None),
    ],
)
def test_highest_level(
    charges: list[tuple[str, int | None]], table: str, expected: int | None
) -> None:
    assert highest_level(charges, table=table) == expected


def test_highest_level_rejects_invalid_codes() -> None:
    with pytest.raises(ValueError, match="'13'"):
        highest_level([("1301", None), ("13", None)])
