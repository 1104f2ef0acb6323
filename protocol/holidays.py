"""US federal holidays (5 U.S.C. 6103) and business days, from the `holidays` package.

The dates returned are the days federal offices are closed: a holiday falling on a Saturday is
observed the Friday before, one on a Sunday the Monday after (5 U.S.C. 6103(b), Executive Order
11582). New Year's Day on a Saturday is therefore observed on December 31 of the year before,
and is listed among that earlier year's holidays.

The calendar itself (Martin Luther King Jr. Day from 1986, Juneteenth from 2021, Veterans Day on
the fourth Monday of October from 1971 to 1977, and whatever Congress adds next) is the `holidays`
package's United States calendar, kept current every year by its maintainers; this module only
keeps the days offices are closed. Years before the Uniform Monday Holiday Act (1971) raise
ValueError, and so do years past the package's calendar (`LAST_YEAR`). Inauguration Day, a
holiday only in the Washington, DC area, is left out.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

import holidays

__all__ = ["FIRST_YEAR", "LAST_YEAR", "federal_holidays", "is_business_day", "is_federal_holiday"]

FIRST_YEAR = 1971
LAST_YEAR: int = holidays.country_holidays("US").end_year
"""The last year the `holidays` package's United States calendar covers."""


@lru_cache(maxsize=256)
def _holidays(year: int) -> Mapping[datetime.date, str]:
    if year < FIRST_YEAR:
        raise ValueError(f"federal holidays before {FIRST_YEAR} are not modelled (got {year})")
    if year > LAST_YEAR:
        raise ValueError(f"federal holidays after {LAST_YEAR} are not modelled (got {year})")
    closed = holidays.country_holidays("US", years=year, observed=True)
    return MappingProxyType(
        {
            day: name
            for day, name in sorted(closed.items())
            if day.year == year and day.weekday() < calendar.SATURDAY
        }
    )


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
