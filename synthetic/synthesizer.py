"""Synthetic configuration documents: SUT profiles, scenarios for the mocks, timing profiles and
faults to inject."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from protocol.ebts import CJIS_ORI

from ._utils import Doc
from .identifiers import STATE_CODES
from .messages import ERROR_SAMPLES, Messages

__all__ = ["Synthesizer"]


class Synthesizer(Messages):
    """Seeded generator of synthetic people, messages and configuration documents; the same seed
    gives the same outputs in the same order.

    It remembers each person it has seen (by name and date of birth) with a biometric key, so
    every booking of the same person carries the same key, and the person behind each submission
    TCN it built (the last 10,000), so responses can name the subject of a CPI.
    """

    # -- configuration documents -----------------------------------------------------------

    def sut_profile(
        self,
        state: str | None = None,
        *,
        nff: bool | None = None,
        message_routing: bool | None = None,
        activated: int = 3,
        opted_out: int = 1,
        lea_inbox_base: str = "http://127.0.0.1:8700/lea",
        sut_url: str | None = "http://127.0.0.1:8701",
        follows_virtual_clock: bool = True,
    ) -> Doc:
        """A SUT profile (``sut-profile.json``): ``activated`` LEAs, the first ``opted_out`` of
        them opted out of IDR/IAR receipt."""
        if not 0 <= opted_out <= activated:
            raise ValueError("the opted-out ORIs are some of the activated ones")
        state = state or self.rng.choice(STATE_CODES)
        oris = self.leas(state, activated)
        out: Doc = {
            "state": state,
            "sib_ori": self.sib_ori(state),
            "cjis_dai": CJIS_ORI,
            "nff": self.rng.random() < 0.5 if nff is None else nff,
            "message_routing": self.rng.random() < 0.5
            if message_routing is None
            else message_routing,
            "activated_oris": oris,
            "opted_out_oris": oris[:opted_out],
            "lea_inbox_base": lea_inbox_base,
        }
        if sut_url is not None:
            out["sut_url"] = sut_url
        out["follows_virtual_clock"] = follows_virtual_clock
        return out

    _STEP_RANGES: Final[Mapping[str, tuple[float, float]]] = {
        "sre": (30.0, 600.0),
        "idr": (60.0, 900.0),
        "iar": (900.0, 14400.0),
        "idr_alone_after": (86400.0, 86400.0),
        "no_match_idr": (60.0, 86400.0),
        "errt": (1.0, 60.0),
    }
    _SOP_STEPS: Final[Mapping[str, float]] = {
        "sre": 120.0,
        "idr": 900.0,
        "iar": 14400.0,
        "idr_alone_after": 86400.0,
        "no_match_idr": 900.0,
        "errt": 5.0,
    }
    TIMING_SHAPES: Final = ("sop", "fixed", "uniform", "lognormal", "mixed")

    def _delay(self, shape: str, step: str) -> Doc:
        low, high = self._STEP_RANGES[step]
        if shape == "mixed":
            shape = self.rng.choice(self.TIMING_SHAPES[1:4])
        if shape == "fixed" or low == high:
            return {"fixed": round(self.rng.uniform(low, high))}
        if shape == "uniform":
            a, b = sorted((round(self.rng.uniform(low, high)), round(self.rng.uniform(low, high))))
            return {"uniform": {"low": a, "high": b}}
        median = round(self.rng.uniform(low, (low + high) / 2), 1)
        sigma = round(self.rng.uniform(0.2, 1.0), 2)
        return {"lognormal": {"median": median, "sigma": sigma, "max": high}}

    FAULT_KINDS: Final = (
        "errt",
        "http-500",
        "http-503",
        "connection-reset",
        "hang",
        "duplicate-delivery",
        "out-of-order",
        "malformed-delivery",
        "invalid-delivery",
    )

    def fault(self, kind: str | None = None) -> Doc:
        """A fault to inject (``scenario.json#/$defs/fault``) with the settings its kind uses."""
        kind = kind or self.rng.choice(self.FAULT_KINDS)
        out: Doc = {"kind": kind}
        if kind in {"http-500", "http-503", "connection-reset"}:
            out["times"] = self.rng.randint(1, 3)
        elif kind == "hang":
            out["seconds"] = round(self.rng.uniform(0, 5), 1)
        elif kind == "errt":
            code, field, _ = self.rng.choice(ERROR_SAMPLES)
            out.update(code=code, field=field, permanent=self.rng.random() < 0.7)
        return out

    def scenario(self, state: str | None = None, *, overrides: int = 2, faults: int = 1) -> Doc:
        """A scenario for the mocks (``scenario.json``) with a few overrides and faults."""
        state = state or self.rng.choice(STATE_CODES)
        leas = self.leas(state, 4)
        out: Doc = {
            "name": f"synthetic-{self.rng.randrange(10**6)}",
            "seed": self.rng.randrange(2**31),
            "timing": self.rng.choice(["sop", "slow-iar", self.timing_profile()]),
            "activated_oris": self.rng.choice([["*"], leas[:3]]),
            "nff_states": self.rng.choice([[], [state]]),
            "ident": {
                "match_rate": round(self.rng.uniform(0, 1), 3),
                "level_1": 0.08,
                "us_citizen": 0.04,
                "ten_print": 0.3,
            },
            "late_iar": self.rng.choice(["deliver", "drop"]),
            "subjects": [{"fbi": self.fbi_number(), "biometric_key": self.biometric_key()}],
            "faults": [self.fault() for _ in range(faults)],
        }
        out["overrides"] = [
            {
                "when": self.rng.choice(
                    [{"ori": self.rng.choice(leas)}, {"biometric_key": self.biometric_key()}]
                ),
                "outcome": {"ident": "match", "offense_level": self.rng.randint(1, 3)},
                "faults": [self.fault()],
            }
            for _ in range(overrides)
        ]
        return out

    def timing_profile(
        self, shape: str = "mixed", *, name: str | None = None, seed: int | None = None
    ) -> Doc:
        """A timing profile (``timing-profile.json``) of the given ``shape``.

        ``sop`` is the briefing's fixed times; ``fixed``, ``uniform`` and ``lognormal`` draw
        every step in that form within the step's plausible range; ``mixed`` draws each step's
        form.
        """
        if shape not in self.TIMING_SHAPES:
            raise ValueError(f"shape must be one of {self.TIMING_SHAPES}, not {shape!r}")
        if shape == "sop":
            steps: Doc = {step: {"fixed": secs} for step, secs in self._SOP_STEPS.items()}
        else:
            steps = {step: self._delay(shape, step) for step in self._STEP_RANGES}
        out: Doc = {"name": name or f"synthetic-{shape}", "steps": steps}
        if shape != "sop":
            out["seed"] = self.rng.randrange(2**31) if seed is None else seed
        return out
