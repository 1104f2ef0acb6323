"""The LEA's NLETS path (SOP 2.2.7, 3.1.4): which bookings an automated 'blind booking' IAQ was
made for, and what IDENT result a CJIS delivery carries (a name-based IAQ follows a no-match)."""

from __future__ import annotations

from typing import Any, Final

import schemas

__all__ = ["POB_UNKNOWN", "US_POB", "blind_booking", "ident_result"]

POB_UNKNOWN: Final = "XX"
"""The NCIC place-of-birth code for unknown (`common.json#/$defs/pob`)."""

US_POB: Final = frozenset(schemas.schema("common")["$defs"]["state_code"]["enum"])
"""Places of birth in the United States: the NCIC state codes (territories among them)."""


def blind_booking(pob: str) -> bool:
    """Whether a booking with this place of birth drew an automated IAQ where blind booking ran:
    POB 'unknown' or 'other than United States' (SOP 2.2.7)."""
    return pob == POB_UNKNOWN or pob not in US_POB


def ident_result(message: Any) -> str | None:
    """The IDENT result (match, no-match) a CJIS delivery carries: an IDR's, or in an NFF state
    the additional SRE's; None for any other message."""
    if not isinstance(message, dict) or not isinstance(message.get("type1"), dict):
        return None
    tot, type2 = message["type1"].get("tot"), message.get("type2")
    if not isinstance(type2, dict):
        return None
    found = type2 if tot == "IDR" else type2.get("ident") if tot == "SRE" else None
    result = found.get("result") if isinstance(found, dict) else None
    return result if isinstance(result, str) else None
