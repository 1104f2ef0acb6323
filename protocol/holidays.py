"""US federal holidays (5 U.S.C. 6103) and business days.

The dates returned are the days federal offices are closed: a holiday falling on a Saturday is
observed the Friday before, one on a Sunday the Monday after (5 U.S.C. 6103(b), Executive Order
11582). New Year's Day on a Saturday is therefore observed on December 31 of the year before,
and is listed among that earlier year's holidays.

Current rules (Uniform Monday Holiday Act, in force from 1971) are modelled: Martin Luther King
Jr. Day from 1986, Juneteenth from 2021, and Veterans Day on the fourth Monday of October from 1971
to 1977. Earlier years raise ValueError. Inauguration Day, a holiday only in the Washington, DC
area, is left out.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

__all__ = ["FIRST_YEAR", "federal_holidays", "is_business_day", "is_federal_holiday"]

FIRST_YEAR = 1971

_ONE_DAY = datetime.timedelta(days=1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> datetime.date:
    """The ``n``-th ``weekday`` (Monday is 0) of the month; ``n = -1`` for the last one."""
    if n < 0:
        last = datetime.date(year, month, calendar.monthrange(year, month)[1])
        return last - datetime.timedelta(days=(last.weekday() - weekday) % 7)
    first = datetime.date(year, month, 1)
    return first + datetime.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _actual_dates(year: int) -> list[tuple[datetime.date, str]]:
    """Each holiday's own date in ``year``, before moving weekend dates."""
    date = datetime.date
    days = [(date(year, 1, 1), "New Year's Day")]
    if year >= 1986:
        days.append((_nth_weekday(year, 1, calendar.MONDAY, 3), "Martin Luther King Jr. Day"))
    days += [
        (_nth_weekday(year, 2, calendar.MONDAY, 3), "Washington's Birthday"),
        (_nth_weekday(year, 5, calendar.MONDAY, -1), "Memorial Day"),
    ]
    if year >= 2021:
        days.append((date(year, 6, 19), "Juneteenth National Independence Day"))
    days += [
        (date(year, 7, 4), "Independence Day"),
        (_nth_weekday(year, 9, calendar.MONDAY, 1), "Labor Day"),
        (_nth_weekday(year, 10, calendar.MONDAY, 2), "Columbus Day"),
    ]
    if year <= 1977:
        days.append((_nth_weekday(year, 10, calendar.MONDAY, 4), "Veterans Day"))
    else:
        days.append((date(year, 11, 11), "Veterans Day"))
    days += [
        (_nth_weekday(year, 11, calendar.THURSDAY, 4), "Thanksgiving Day"),
        (date(year, 12, 25), "Christmas Day"),
    ]
    return days


def _observed(day: datetime.date, name: str) -> tuple[datetime.date, str]:
    if day.weekday() == calendar.SATURDAY:
        return day - _ONE_DAY, f"{name} (observed)"
    if day.weekday() == calendar.SUNDAY:
        return day + _ONE_DAY, f"{name} (observed)"
    return day, name


@lru_cache(maxsize=256)
def _holidays(year: int) -> Mapping[datetime.date, str]:
    if year < FIRST_YEAR:
        raise ValueError(f"federal holidays before {FIRST_YEAR} are not modelled (got {year})")
    candidates = _actual_dates(year)
    if year < datetime.MAXYEAR:
        candidates.append((datetime.date(year + 1, 1, 1), "New Year's Day"))
    observed = (_observed(day, name) for day, name in candidates)
    return MappingProxyType(dict(sorted(item for item in observed if item[0].year == year)))


def federal_holidays(year: int) -> dict[datetime.date, str]:
    """Observed federal holidays falling in ``year``, date to name, in date order.

    A moved holiday is named with " (observed)", e.g. ``"Independence Day (observed)"``.
    """
    return dict(_holidays(year))


def is_federal_holiday(day: datetime.date) -> bool:
    """Whether federal offices are closed on ``day`` for a holiday (the observed date)."""
    return _day(day) in _holidays(day.year)


def is_business_day(day: datetime.date) -> bool:
    """A weekday that is not an observed federal holiday."""
    plain = _day(day)
    return plain.weekday() < calendar.SATURDAY and plain not in _holidays(plain.year)


def _day(day: datetime.date) -> datetime.date:
    """The calendar date alone, so a ``datetime`` argument compares as its date."""
    return datetime.date(day.year, day.month, day.day)
