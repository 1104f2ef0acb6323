"""Detainer timing: when ICE must have taken custody of a released subject."""

from __future__ import annotations

import datetime

from protocol.holidays import is_business_day

__all__ = ["custody_deadline"]

_UTC = datetime.UTC


def custody_deadline(release_notified_at: datetime.datetime, hours: int = 48) -> datetime.datetime:
    """The moment ``hours`` of business-day time have passed since the release notification.

    SOP 3.2.4: ICE assumes custody within 48 hours of notification of the subject's release,
    not counting Saturdays, Sundays or federal holidays. Only time on business days counts;
    calendar days are those of the notification's own timezone, and elapsed time is real
    (UTC) time, so a daylight-saving change day counts 23 or 25 hours. A notification on a
    non-business day starts the count at the next business day's midnight. The result is the
    instant the count is reached (so a count ending exactly at a Friday's end gives Saturday
    00:00, although no counted time passes before Monday), in the notification's timezone.
    Raises ValueError for a naive datetime or negative ``hours``.
    """
    tz = release_notified_at.tzinfo
    if tz is None or release_notified_at.utcoffset() is None:
        raise ValueError(
            f"release_notified_at must be timezone-aware, got naive {release_notified_at}"
        )
    if hours < 0:
        raise ValueError(f"hours must be >= 0, got {hours}")

    remaining = datetime.timedelta(hours=hours)
    cursor = release_notified_at.astimezone(_UTC)
    day = release_notified_at.date()
    while True:
        next_midnight = datetime.datetime.combine(
            day + datetime.timedelta(days=1), datetime.time(), tzinfo=tz
        ).astimezone(_UTC)
        if is_business_day(day):
            available = max(next_midnight - cursor, datetime.timedelta())
            if remaining <= available:
                return (cursor + remaining).astimezone(tz)
            remaining -= available
        cursor = max(cursor, next_midnight)
        day += datetime.timedelta(days=1)
