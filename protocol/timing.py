"""Timing profiles: when each response is due, in virtual time after CJIS receives a submission.

A profile is a document valid against `schemas/timing-profile.json`; this module reads one and draws
delays from it. Named profiles ship in `profiles/`; `sop` is the default.
"""

from __future__ import annotations

import json
import math
import random
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import schemas

__all__ = ["OPTIONAL_STEPS", "STEPS", "TimingProfile", "profile_names"]

STEPS: tuple[str, ...] = ("sre", "idr", "iar", "idr_alone_after", "no_match_idr", "errt")

OPTIONAL_STEPS: dict[str, dict[str, Any]] = {"nlets_iar": {"fixed": 1800}}
"""Steps a profile may leave out, with the delay they take then: LESC's name-based IAR through
NLETS (SOP 2.2.7), counted from the IAQ's arrival (our figure: the briefing gives none)."""


def profile_names() -> list[str]:
    """Names of the profiles shipped with the harness."""
    folder = resources.files(__package__).joinpath("profiles")
    return sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )


class TimingProfile:
    """A validated timing profile that draws each step's delay, seeded for repeatable runs."""

    def __init__(self, document: dict[str, Any]) -> None:
        schemas.validate("timing-profile", document)
        for step, delay in document["steps"].items():
            uniform = delay.get("uniform")
            if uniform is not None and uniform["low"] > uniform["high"]:
                raise ValueError(
                    f"$.steps.{step}.uniform: low ({uniform['low']}) must not exceed high "
                    f"({uniform['high']}) (rule: low <= high)"
                )
        self.document = document
        self.name: str = document["name"]
        self._rng = random.Random(document.get("seed", 0))

    @classmethod
    def named(cls, name: str) -> TimingProfile:
        """A shipped profile by name (see `profile_names()`)."""
        if name not in profile_names():
            raise ValueError(
                f"no timing profile named {name!r}; known: {', '.join(profile_names())}"
            )
        text = resources.files(__package__).joinpath("profiles", f"{name}.json").read_text()
        return cls(json.loads(text))

    @classmethod
    def sop(cls) -> TimingProfile:
        """The default: IDR 15 min, IDR/IAR 4 h, IDR alone at 24 h."""
        return cls.named("sop")

    @classmethod
    def from_file(cls, path: str | Path) -> TimingProfile:
        """A profile from a JSON file."""
        return cls(json.loads(Path(path).read_text()))

    def delay(self, step: str, rng: random.Random | None = None) -> timedelta:
        """Draw the delay of `step` (one of `STEPS`)."""
        try:
            spec = self.document["steps"].get(step) or OPTIONAL_STEPS[step]
        except KeyError:
            known = ", ".join([*STEPS, *OPTIONAL_STEPS])
            raise KeyError(f"no step {step!r}; steps are {known}") from None
        draw = rng or self._rng
        if "fixed" in spec:
            seconds = float(spec["fixed"])
        elif "uniform" in spec:
            seconds = draw.uniform(spec["uniform"]["low"], spec["uniform"]["high"])
        else:
            params = spec["lognormal"]
            seconds = params["median"] * math.exp(params["sigma"] * draw.gauss(0.0, 1.0))
            if "max" in params:
                seconds = min(seconds, float(params["max"]))
        return timedelta(seconds=seconds)

    def __repr__(self) -> str:
        return f"TimingProfile({self.name!r})"
