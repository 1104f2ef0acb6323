"""The requirement catalog (`requirements.json`, checked against `schemas/requirements.json`):
the requirements, the checks that cover them, and the time budgets those checks wait for."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import schemas

__all__ = ["applies", "budgets", "by_check", "requirements"]


@cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("requirements.json").read_text()
    )
    schemas.validate("requirements", document)
    for requirement in document["requirements"]:
        unknown = set(requirement.get("budgets", [])) - set(document.get("budgets", {}))
        if unknown:
            raise ValueError(f"{requirement['id']} names unknown budgets {sorted(unknown)}")
    return document


def requirements() -> tuple[dict[str, Any], ...]:
    """Every requirement, validated."""
    return tuple(_document()["requirements"])


def budgets() -> dict[str, dict[str, Any]]:
    """Every time budget by name (`within` seconds on the `wall` or `virtual` clock)."""
    found: dict[str, dict[str, Any]] = _document().get("budgets", {})
    return found


@cache
def by_check() -> dict[str, dict[str, Any]]:
    """The requirement each check covers, by check name."""
    return {check: r for r in requirements() for check in r["checks"]}


def applies(requirement: dict[str, Any], profile: dict[str, Any]) -> bool:
    """Whether a requirement applies to the SIB a SUT profile describes."""
    wanted = requirement.get("applies", {})
    facts = {
        "nff": profile["nff"],
        "message_routing": profile["message_routing"],
        "opted_out": bool(profile.get("opted_out_oris")),
        "restart": bool(profile.get("restart_command")),
        "nlets_relay": bool(profile.get("nlets_relay")),
    }
    return all(facts[key] == value for key, value in wanted.items())
