"""Federal holidays (5 U.S.C. 6103) and business days."""

from __future__ import annotations

import datetime
from collections import Counter

import pytest

from protocol.holidays import (
    FIRST_YEAR,
    LAST_YEAR,
    federal_holidays,
    is_business_day,
    is_federal_holiday,
)

D = datetime.date

EVERY_YEAR = (
    "Washington's Birthday",
    "Memorial Day",
    "Independence Day",
    "Labor Day",
    "Columbus Day",
    "Veterans Day",
    "Thanksgiving Day",
    "Christmas Day",
)

HOLIDAYS_2026 = {
    D(2026, 1, 1): "New Year's Day",
    D(2026, 1, 19): "Martin Luther King Jr. Day",
    D(2026, 2, 16): "Washington's Birthday",
    D(2026, 5, 25): "Memorial Day",
    D(2026, 6, 19): "Juneteenth National Independence Day",
    D(2026, 7, 3): "Independence Day (observed)",
    D(2026, 9, 7): "Labor Day",
    D(2026, 10, 12): "Columbus Day",
    D(2026, 11, 11): "Veterans Day",
    D(2026, 11, 26): "Thanksgiving Day",
    D(2026, 12, 25): "Christmas Day",
}

HOLIDAYS_2027 = {
    D(2027, 1, 1): "New Year's Day",
    D(2027, 1, 18): "Martin Luther King Jr. Day",
    D(2027, 2, 15): "Washington's Birthday",
    D(2027, 5, 31): "Memorial Day",
    D(2027, 6, 18): "Juneteenth National Independence Day (observed)",
    D(2027, 7, 5): "Independence Day (observed)",
    D(2027, 9, 6): "Labor Day",
    D(2027, 10, 11): "Columbus Day",
    D(2027, 11, 11): "Veterans Day",
    D(2027, 11, 25): "Thanksgiving Day",
    D(2027, 12, 24): "Christmas Day (observed)",
    D(2027, 12, 31): "New Year's Day (observed)",
}


def test_2026_full_list() -> None:
    assert federal_holidays(2026) == HOLIDAYS_2026
    assert list(federal_holidays(2026)) == sorted(HOLIDAYS_2026)


def test_2027_full_list_has_three_saturday_and_one_sunday_holiday() -> None:
    assert federal_holidays(2027) == HOLIDAYS_2027


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (D(2021, 12, 31), "New Year's Day (observed)"),
        (D(2021, 1, 1), "New Year's Day"),
        (D(2021, 6, 18), "Juneteenth National Independence Day (observed)"),
        (D(2021, 12, 24), "Christmas Day (observed)"),
        (D(2022, 6, 20), "Juneteenth National Independence Day (observed)"),
        (D(2022, 12, 26), "Christmas Day (observed)"),
        (D(2023, 1, 2), "New Year's Day (observed)"),
        (D(2023, 11, 10), "Veterans Day (observed)"),
        (D(1986, 1, 20), "Martin Luther King Jr. Day"),
        (D(1975, 10, 27), "Veterans Day"),
        (D(1978, 11, 10), "Veterans Day (observed)"),
    ],
)
def test_known_observed_dates(day: datetime.date, name: str) -> None:
    assert federal_holidays(day.year)[day] == name
    assert is_federal_holiday(day)
    assert not is_business_day(day)


def test_saturday_new_year_belongs_to_the_year_before() -> None:
    holidays_2022 = federal_holidays(2022)
    assert D(2022, 1, 1) not in holidays_2022
    assert D(2021, 12, 31) not in holidays_2022
    assert "New Year's Day" not in " ".join(holidays_2022.values())
    assert list(federal_holidays(2021).values()).count("New Year's Day (observed)") == 1


def test_sunday_holiday_is_not_listed_on_the_sunday() -> None:
    assert D(2022, 12, 25) not in federal_holidays(2022)
    assert not is_federal_holiday(D(2022, 12, 25))


@pytest.mark.parametrize("year", [2019, 2020])
def test_no_juneteenth_before_2021(year: int) -> None:
    assert not any("Juneteenth" in name for name in federal_holidays(year).values())
    assert is_business_day(D(year, 6, 19)) == (D(year, 6, 19).weekday() < 5)


def test_no_mlk_day_before_1986() -> None:
    assert "Martin Luther King Jr. Day" not in federal_holidays(1985).values()


def test_veterans_day_in_october_1971_to_1977() -> None:
    assert federal_holidays(1977)[D(1977, 10, 24)] == "Veterans Day"
    assert D(1977, 11, 11) not in federal_holidays(1977)


@pytest.mark.parametrize("year", range(FIRST_YEAR, 2101))
def test_every_year_is_well_formed(year: int) -> None:
    holidays = federal_holidays(year)
    assert all(day.year == year and day.weekday() < 5 for day in holidays)
    counts = Counter(name.removesuffix(" (observed)") for name in holidays.values())
    expected = set(EVERY_YEAR)
    if year >= 1986:
        expected.add("Martin Luther King Jr. Day")
    if year >= 2021:
        expected.add("Juneteenth National Independence Day")
    assert set(counts) - {"New Year's Day"} == expected
    assert counts["New Year's Day"] == (D(year, 1, 1).weekday() != 5) + (
        D(year + 1, 1, 1).weekday() == 5
    )
    assert all(count == 1 for name, count in counts.items() if name != "New Year's Day")


def test_result_is_a_copy() -> None:
    holidays = federal_holidays(2026)
    holidays.clear()
    assert federal_holidays(2026) == HOLIDAYS_2026


def test_the_last_covered_year_has_its_new_year_of_the_next() -> None:
    assert LAST_YEAR >= 2100
    assert len(federal_holidays(LAST_YEAR)) >= 10
    with pytest.raises(ValueError, match=str(LAST_YEAR + 1)):
        federal_holidays(LAST_YEAR + 1)
    with pytest.raises(ValueError, match="9999"):
        is_business_day(D(datetime.MAXYEAR, 12, 24))


def test_years_before_1971_raise() -> None:
    with pytest.raises(ValueError, match="1970"):
        federal_holidays(1970)


@pytest.mark.parametrize(
    ("day", "business"),
    [
        (D(2026, 7, 2), True),
        (D(2026, 7, 3), False),
        (D(2026, 7, 4), False),
        (D(2026, 7, 5), False),
        (D(2026, 7, 6), True),
        (D(2026, 1, 16), True),
        (D(2026, 1, 19), False),
        (D(2026, 1, 20), True),
        (D(2021, 12, 31), False),
    ],
)
def test_is_business_day(day: datetime.date, business: bool) -> None:
    assert is_business_day(day) is business


def test_datetime_argument_uses_its_date() -> None:
    moment = datetime.datetime(2026, 7, 3, 12, 30, tzinfo=datetime.UTC)
    assert is_federal_holiday(moment)
    assert not is_business_day(moment)
    assert not is_federal_holiday(D(2026, 7, 4))
