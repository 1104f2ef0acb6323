"""EBTS names (NAM, 2.018): ``SURNAME,GIVEN MIDDLE``, upper-case ASCII, at most 50 characters."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["normalize_name", "split_nam"]

_NAM_MAX: Final = 50

_TRANSLITERATE: Final = str.maketrans(
    {
        "Ø": "O",
        "ø": "o",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Þ": "TH",
        "þ": "th",
        "ß": "ss",
        "\u0131": "i",
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "`": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2013": "-",
        "\u2014": "-",
    }
)
_NOT_NAM: Final = re.compile(r"[^A-Z' \-]+")
_SPACES: Final = re.compile(r" {2,}")
_EDGE: Final = " '-"


def _clean(text: str) -> str:
    """Upper-case ASCII letters, space, apostrophe and hyphen only, starting with a letter."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    stripped = stripped.translate(_TRANSLITERATE)  # upper-casing may reveal more (e.g. "ß")
    cleaned = _SPACES.sub(" ", _NOT_NAM.sub(" ", stripped))
    return cleaned.lstrip(_EDGE).rstrip(_EDGE)


def normalize_name(surname: str, given: str, middle: str = "") -> str:
    """An EBTS NAM ``SURNAME,GIVEN MIDDLE`` of at most 50 characters.

    Accents are stripped, letters upper-cased, anything but letters, space, apostrophe and hyphen
    becomes a space. An empty part becomes ``UNKNOWN``. Too long a name loses its middle name
    (keeping the initial when it fits), then the given name and the surname are cut, the surname
    kept to at most 49 minus the given name's first 15 characters; the comma form always stays.
    """
    sur = _clean(surname) or "UNKNOWN"
    first = _clean(given) or "UNKNOWN"
    mid = _clean(middle)
    full = f"{sur},{first} {mid}" if mid else f"{sur},{first}"
    if len(full) <= _NAM_MAX:
        return full
    if mid and len(f"{sur},{first} {mid[0]}") <= _NAM_MAX:
        return f"{sur},{first} {mid[0]}"
    if len(f"{sur},{first}") <= _NAM_MAX:
        return f"{sur},{first}"
    sur = sur[: max(1, _NAM_MAX - 1 - min(len(first), 15))].rstrip(_EDGE)
    first = first[: _NAM_MAX - 1 - len(sur)].rstrip(_EDGE)
    return f"{sur},{first}"


def split_nam(nam: str) -> tuple[str, str, str]:
    """Surname, given name and middle name(s) of a NAM."""
    sur, _, rest = nam.partition(",")
    given, _, middle = rest.partition(" ")
    return sur, given, middle
