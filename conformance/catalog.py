"""The requirement catalog (`requirements.json`, checked against `schemas/requirements.json`)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import schemas

__all__ = ["applies", "by_check", "requirements"]


@cache
def requirements() -> tuple[dict[str, Any], ...]:
    """Every requirement, validated."""
    document = json.loads(resources.files(__package__).joinpath("requirements.json").read_text())
    schemas.validate("requirements", document)
    return tuple(document["requirements"])


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
    }
    return all(facts[key] == value for key, value in wanted.items())
