"""Scenarios: how the mocks behave for a run (`schemas/scenario.json`), and per-case settings."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import schemas
from protocol.ebts import ori_state
from protocol.timing import TimingProfile

__all__ = ["Case", "Scenario", "scenario_names"]


def scenario_names() -> list[str]:
    """Names of the scenarios shipped with the harness."""
    folder = resources.files(__package__).joinpath("scenarios")
    return sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )


def _shipped(name: str) -> dict[str, Any]:
    if name not in scenario_names():
        raise ValueError(f"no scenario named {name!r}; known: {', '.join(scenario_names())}")
    text = resources.files(__package__).joinpath("scenarios", f"{name}.json").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


@cache
def _named_profile(name: str) -> TimingProfile:
    return TimingProfile.named(name)


class Case(NamedTuple):
    """What the scenario says for one submission."""

    timing: TimingProfile
    outcome: dict[str, Any]
    late_iar: str
    faults: list[dict[str, Any]]

    def fault(self, kind: str) -> dict[str, Any] | None:
        """The first fault of `kind`, if any."""
        return next((f for f in self.faults if f["kind"] == kind), None)


class Scenario:
    """A validated scenario over the shipped defaults (`scenarios/default.json`)."""

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        given = document or {}
        schemas.validate("scenario", given)
        merged = {**_shipped("default"), **given}
        self.document = merged
        self.name: str = merged["name"]
        self.seed: int = merged["seed"]
        self.late_iar: str = merged["late_iar"]
        self.callback: str | None = merged.get("sut_callback")
        self.nff_states = frozenset(merged["nff_states"])
        activated = merged["activated_oris"]
        self.all_activated = "*" in activated
        self.activated = frozenset(o for o in activated if o != "*")
        self.ident: dict[str, float] = {**_shipped("default")["ident"], **merged["ident"]}
        self.subjects = {s["fbi"]: s["biometric_key"] for s in merged["subjects"]}
        self.inbox_outages: dict[str, float] = {
            o["ori"]: float(o["seconds"]) for o in merged.get("inbox_outages", [])
        }
        self.timing = self._timing(merged["timing"])
        self._overrides: list[tuple[dict[str, Any], Case]] = [
            (o["when"], self._case(o)) for o in merged["overrides"]
        ]
        self._default_case = Case(self.timing, {}, self.late_iar, list(merged["faults"]))

    @classmethod
    def named(cls, name: str) -> Scenario:
        """A shipped scenario by name (see `scenario_names()`)."""
        return cls(_shipped(name))

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        """A scenario from a JSON file."""
        return cls(json.loads(Path(path).read_text()))

    @staticmethod
    def _timing(spec: str | dict[str, Any]) -> TimingProfile:
        return _named_profile(spec) if isinstance(spec, str) else TimingProfile(spec)

    def _case(self, override: dict[str, Any]) -> Case:
        timing = self._timing(override["timing"]) if "timing" in override else self.timing
        return Case(
            timing,
            dict(override.get("outcome", {})),
            override.get("late_iar", self.late_iar),
            list(override.get("faults", self.document["faults"])),
        )

    def activated_oris(self) -> frozenset[str] | _Everyone:
        """The activated ORIs, as a set that answers `in` (every ORI when the list is `*`)."""
        return _Everyone() if self.all_activated else self.activated

    def is_nff(self, ori: str) -> bool:
        """Whether `ori` is in a National Fingerprint File state."""
        return ori_state(ori) in self.nff_states

    def case(self, submission: dict[str, Any], biometric_key: str | None) -> Case:
        """Settings for a submission: the first override whose `when` matches, or the default."""
        header = submission.get("type1")
        type2 = submission.get("type2")
        facts = {
            "tcn": header.get("tcn") if isinstance(header, dict) else None,
            "ori": header.get("ori") if isinstance(header, dict) else None,
            "biometric_key": biometric_key,
            "fbi": type2.get("fbi") if isinstance(type2, dict) else None,
        }
        for when, case in self._overrides:
            if all(facts.get(k) == v for k, v in when.items()):
                return case
        return self._default_case


class _Everyone(frozenset[str]):
    """Every ORI: the activated set when the scenario lists `*`."""

    def __contains__(self, item: object) -> bool:
        return True
