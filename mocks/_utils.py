"""Small private helpers the mocks' modules share."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from protocol.ebts import gmt

__all__ = ["gmt_cached", "part", "text"]


def text(value: Any) -> str | None:
    """`value` if it is a string, else None."""
    return value if isinstance(value, str) else None


def part(document: Any, key: str) -> dict[str, Any]:
    """`document[key]` if both are objects, else an empty one."""
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, dict) else {}


def gmt_cached(when: datetime) -> str:
    """`gmt(when)`, remembered: submissions arriving within one virtual second share it (on a
    realtime or scaled clock too, whose instants differ by microseconds)."""
    if when.microsecond:
        when = when.replace(microsecond=0)
    return _gmt_of_second(when)


@functools.lru_cache(maxsize=4)
def _gmt_of_second(when: datetime) -> str:
    return gmt(when)
