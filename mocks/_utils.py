"""Small private helpers the mocks' modules share."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson

from protocol.ebts import gmt

__all__ = ["dumps", "gmt_cached", "orjson_reads_as_json", "part", "read_json", "text"]

_DIGITS_AS_9 = bytes(0x39 if 0x30 <= byte <= 0x39 else 0x61 for byte in range(256))
"""Each ASCII digit as `9`, every other byte as `a`."""
_LONG_NUMBER = b"9" * 19


def orjson_reads_as_json(data: str | bytes) -> bool:
    """Whether orjson reads `data` as `json` does: it holds no integer past 64 bits (orjson reads
    one as a float), which takes 19 ASCII digits in a row (digits in strings may say no too; then
    `json` reads it, the same). By `bytes.translate` and `find`: a tenth of a regular
    expression's time (0.45 against 5.8 us on a 517-byte CAR)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return raw.translate(_DIGITS_AS_9).find(_LONG_NUMBER) < 0


def read_json(text: str | bytes) -> Any:
    """JSON already taken (a ledgered body) read as `json` reads it, by orjson where that is the
    same; `ValueError` when it is not JSON."""
    if orjson_reads_as_json(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def dumps(document: Any, *, sort_keys: bool = False) -> str:
    """`document` as compact JSON text (orjson: UTF-8, no spaces), for the ledger and the wire."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS if sort_keys else 0).decode()


def text(value: Any) -> str | None:
    """`value` if it is a string, else None."""
    return value if isinstance(value, str) else None


def part(document: Any, key: str) -> dict[str, Any]:
    """`document[key]` if both are objects, else an empty one."""
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, dict) else {}


def gmt_cached(when: datetime) -> str:
    """`gmt(when)`, remembered: submissions arriving within one virtual second share it (on a
    realtime or scaled clock too, whose instants differ by microseconds), looked up by the
    second's POSIX time (cheaper than hashing a datetime); the same instant as last time (a
    manual clock's now) at once."""
    global _last
    last_when, last_gmt = _last
    if when is last_when:
        return last_gmt
    second = int(when.timestamp() // 1)
    known = _GMT_OF_SECOND.get(second)
    if known is None:
        if len(_GMT_OF_SECOND) >= _GMT_SECONDS:
            _GMT_OF_SECOND.clear()
        known = _GMT_OF_SECOND[second] = gmt(when.replace(microsecond=0))
    _last = (when, known)
    return known


_GMT_SECONDS = 64
_GMT_OF_SECOND: dict[int, str] = {}
_last: tuple[datetime | None, str] = (None, "")
