"""Custody deadline, SOP 3.2.4: 48 hours not counting Saturdays, Sundays or federal holidays."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.detainer import custody_deadline
from protocol.holidays import is_business_day

UTC = datetime.UTC
EST = datetime.timezone(datetime.timedelta(hours=-5))
NEW_YORK = ZoneInfo("America/New_York")
ZONES: list[datetime.tzinfo] = [
    UTC,
    EST,
    datetime.timezone(datetime.timedelta(hours=9, minutes=30)),
    NEW_YORK,
    ZoneInfo("America/Los_Angeles"),
]


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, tz: datetime.tzinfo = UTC
) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=tz)


@pytest.mark.parametrize(
    ("notified", "deadline"),
    [
        (at(2026, 3, 13, 10), at(2026, 3, 17, 10)),
        (at(2026, 1, 16, 10), at(2026, 1, 21, 10)),
        (at(2026, 7, 2, 10), at(2026, 7, 7, 10)),
        (at(2026, 3, 14, 10), at(2026, 3, 18, 0)),
        (at(2026, 3, 15, 23, 59), at(2026, 3, 18, 0)),
        (at(2026, 1, 19, 15), at(2026, 1, 22, 0)),
        (at(2026, 3, 10, 10), at(2026, 3, 12, 10)),
        (at(2026, 3, 12, 0), at(2026, 3, 14, 0)),
        (at(2026, 12, 24, 18), at(2026, 12, 29, 18)),
        (at(2027, 12, 30, 9), at(2028, 1, 4, 9)),
    ],
    ids=[
        "friday-skips-weekend",
        "friday-before-mlk-monday",
        "thursday-before-friday-observed-july-4",
        "saturday-starts-monday-midnight",
        "sunday-late-starts-monday-midnight",
        "notified-on-mlk-day",
        "tuesday-plain",
        "count-ends-at-friday-midnight",
        "christmas-eve-evening",
        "observed-new-year-on-dec-31",
    ],
)
def test_custody_deadline(notified: datetime.datetime, deadline: datetime.datetime) -> None:
    assert custody_deadline(notified) == deadline


def test_result_keeps_the_notification_timezone() -> None:
    result = custody_deadline(at(2026, 3, 13, 10, tz=EST))
    assert result == at(2026, 3, 17, 10, tz=EST)
    assert result.tzinfo is EST


def test_calendar_days_are_local() -> None:
    # The same instant is Saturday in UTC (nothing counts until Monday) but Friday 21:00 in EST.
    notified = at(2026, 3, 14, 2)
    assert custody_deadline(notified) == at(2026, 3, 18, 0)
    assert custody_deadline(notified.astimezone(EST)) == at(2026, 3, 17, 21, tz=EST)


def test_daylight_saving_change_counts_real_hours() -> None:
    # Clocks spring forward on Sunday 2026-03-08, an uncounted day: 71 real hours pass.
    notified = at(2026, 3, 6, 10, tz=NEW_YORK)
    deadline = custody_deadline(notified)
    assert deadline == at(2026, 3, 10, 10, tz=NEW_YORK)
    assert deadline.astimezone(UTC) - notified.astimezone(UTC) == datetime.timedelta(hours=95)


def test_custom_hours() -> None:
    assert custody_deadline(at(2026, 3, 13, 10), hours=24) == at(2026, 3, 16, 10)
    assert custody_deadline(at(2026, 3, 13, 10), hours=0) == at(2026, 3, 13, 10)
    assert custody_deadline(at(2026, 3, 14, 10), hours=0) == at(2026, 3, 16, 0)


def test_naive_datetime_raises() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        custody_deadline(datetime.datetime(2026, 3, 13, 10))


def test_negative_hours_raise() -> None:
    with pytest.raises(ValueError, match="hours"):
        custody_deadline(at(2026, 3, 13, 10), hours=-1)


def non_business_time(start: datetime.datetime, end: datetime.datetime) -> datetime.timedelta:
    """Time in [start, end) that falls on non-business days of start's timezone."""
    tz = start.tzinfo
    total = datetime.timedelta()
    day = start.date()
    while day <= end.astimezone(tz).date():
        if not is_business_day(day):
            low = datetime.datetime.combine(day, datetime.time(), tzinfo=tz)
            high = datetime.datetime.combine(
                day + datetime.timedelta(days=1), datetime.time(), tzinfo=tz
            )
            overlap = min(high.astimezone(UTC), end.astimezone(UTC)) - max(
                low.astimezone(UTC), start.astimezone(UTC)
            )
            total += max(overlap, datetime.timedelta())
        day += datetime.timedelta(days=1)
    return total


notifications = st.datetimes(
    min_value=datetime.datetime(2000, 1, 1),
    max_value=datetime.datetime(2099, 12, 1),
    timezones=st.sampled_from(ZONES),
    allow_imaginary=False,
)


@given(notifications)
def test_deadline_is_48_counted_hours_after_notification(
    notified: datetime.datetime,
) -> None:
    deadline = custody_deadline(notified)
    elapsed = deadline.astimezone(UTC) - notified.astimezone(UTC)
    assert elapsed >= datetime.timedelta(hours=48)
    assert elapsed - non_business_time(notified, deadline) == datetime.timedelta(hours=48)
    assert deadline.tzinfo is notified.tzinfo


@given(notifications, st.integers(min_value=0, max_value=24 * 30))
def test_any_hours_are_counted_exactly(notified: datetime.datetime, hours: int) -> None:
    deadline = custody_deadline(notified, hours=hours)
    elapsed = deadline.astimezone(UTC) - notified.astimezone(UTC)
    assert elapsed - non_business_time(notified, deadline) == datetime.timedelta(hours=hours)


@given(
    notifications,
    st.timedeltas(min_value=datetime.timedelta(), max_value=datetime.timedelta(days=10)),
)
def test_later_notification_never_gives_earlier_deadline(
    notified: datetime.datetime, delay: datetime.timedelta
) -> None:
    later = (notified.astimezone(UTC) + delay).astimezone(notified.tzinfo)
    assert custody_deadline(later) >= custody_deadline(notified)
