"""Small helpers the checks share."""

from __future__ import annotations

from typing import Any

from conformance.harness import Mocks, kind_of

__all__ = ["match", "routed_kinds", "submission_for"]


def match(key: str, **more: Any) -> dict[str, Any]:
    """A scenario override forcing an IDENT match for this biometric key."""
    override: dict[str, Any] = {"when": {"biometric_key": key}, "outcome": {"ident": "match"}}
    override.update(more)
    return override


def submission_for(mocks: Mocks, key: str) -> list[dict[str, Any]]:
    """The submissions CJIS took for the subject with this biometric key (CARs; CPIs by FBI)."""
    return [m for m in mocks.submissions() if m.get("prints", {}).get("biometric_key") == key]


def routed_kinds(mocks: Mocks, ori: str) -> list[str]:
    """What the LEA with this ORI received, as kinds (SRE, IDR, IDR/IAR, IAR, ERRT...)."""
    return [kind_of(m) for m in mocks.routed().get(ori, [])]
