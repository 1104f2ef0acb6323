"""EBTS formats: CCYYMMDD dates, GMT timestamps, ORIs and the federal agencies' identifiers."""

from __future__ import annotations

import datetime
import functools
from typing import Final

__all__ = [
    "CJIS_ORI",
    "LESC_ORI",
    "dro_ori",
    "ebts_date",
    "gmt",
    "ori_county",
    "ori_state",
    "parse_ebts_date",
    "parse_gmt",
    "sib_ori_of",
    "utc",
]

CJIS_ORI: Final = "WVIAFIS0Z"
"""FBI CJIS Division (IAFIS): the DAI of submissions and the ORI of its responses."""

LESC_ORI: Final = "VTLESC000"
"""ICE Law Enforcement Support Center: the DAI of an IAQ and the ORI of an IAR."""


def utc(ts: datetime.datetime) -> datetime.datetime:
    """The same instant in UTC; a naive datetime is taken as UTC."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        return ts.replace(tzinfo=datetime.UTC)
    return ts.astimezone(datetime.UTC)


def ebts_date(day: datetime.date) -> str:
    """A date as an EBTS CCYYMMDD string (a datetime counts by its UTC date when aware)."""
    if isinstance(day, datetime.datetime):
        day = utc(day).date()
    return day.strftime("%Y%m%d")


def parse_ebts_date(text: str) -> datetime.date:
    """The date of an EBTS CCYYMMDD string; ValueError naming the value otherwise."""
    try:
        return _ebts_date(text)
    except (TypeError, ValueError):
        raise ValueError(f"{text!r} is not a CCYYMMDD date") from None


@functools.lru_cache(maxsize=4096)
def _ebts_date(text: str) -> datetime.date:
    """`strptime`, remembered: a run's messages carry a few thousand distinct dates at most."""
    return datetime.datetime.strptime(text, "%Y%m%d").date()


def gmt(ts: datetime.datetime) -> str:
    """A timestamp as ISO 8601 UTC with a Z suffix (EBTS 1.014 GMT); naive means UTC."""
    return utc(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_gmt(text: str) -> datetime.datetime:
    """The aware UTC datetime of an ISO 8601 timestamp such as ``2026-11-25T12:00:00Z``."""
    return utc(datetime.datetime.fromisoformat(text))


def ori_state(ori: str) -> str:
    """The NCIC state code an ORI belongs to (its first two characters)."""
    return ori[:2]


def ori_county(ori: str) -> str:
    """An ORI's state and three-digit county (its first five characters): sub-agencies of one
    county share it (NC0920000, NC0920100), so it never tells one LEA from another."""
    return ori[:5]


def sib_ori_of(ori: str) -> str:
    """The SIB's ORI for the state of ``ori``: the state code and seven zeros."""
    return f"{ori_state(ori)}0000000"


def dro_ori(state: str) -> str:
    """The synthetic ORI of the ICE DRO field office serving ``state``."""
    return f"{state}ICE0100"
