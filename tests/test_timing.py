from __future__ import annotations

import random
import statistics
from datetime import timedelta
from typing import Any

import pytest

import schemas
from protocol.timing import STEPS, TimingProfile, profile_names


def test_sop_profile_is_the_briefings_response_times() -> None:
    sop = TimingProfile.sop()
    assert sop.name == "sop"
    assert sop.delay("idr") == timedelta(minutes=15)
    assert sop.delay("iar") == timedelta(hours=4)
    assert sop.delay("idr_alone_after") == timedelta(hours=24)
    assert sop.delay("no_match_idr") <= timedelta(hours=24)


def test_shipped_profiles_validate() -> None:
    assert "sop" in profile_names()
    for name in profile_names():
        assert schemas.problems("timing-profile", TimingProfile.named(name).document) == []


def test_every_step_is_in_the_schema() -> None:
    required = schemas.schema("timing-profile")["properties"]["steps"]["required"]
    assert tuple(required) == STEPS


def _profile(**steps: Any) -> dict[str, Any]:
    base: dict[str, Any] = {s: {"fixed": 1} for s in STEPS}
    base.update(steps)
    return {"name": "t", "steps": base, "seed": 11}


def test_uniform_delays_stay_in_range_and_repeat_with_the_seed() -> None:
    doc = _profile(iar={"uniform": {"low": 60, "high": 120}})
    draws = [TimingProfile(doc).delay("iar").total_seconds() for _ in range(3)]
    assert draws[0] == draws[1] == draws[2]
    profile = TimingProfile(doc)
    many = [profile.delay("iar").total_seconds() for _ in range(500)]
    assert min(many) >= 60
    assert max(many) <= 120
    assert len(set(many)) > 400


def test_lognormal_delays_have_the_median_and_respect_the_cap() -> None:
    profile = TimingProfile(
        _profile(iar={"lognormal": {"median": 5400, "sigma": 0.6, "max": 14400}})
    )
    rng = random.Random(3)
    many = [profile.delay("iar", rng).total_seconds() for _ in range(4000)]
    assert max(many) <= 14400
    assert 5000 < statistics.median(many) < 5800


def test_uniform_low_above_high_names_the_field_and_rule() -> None:
    with pytest.raises(ValueError, match=r"\$\.steps\.sre\.uniform: .*rule: low <= high"):
        TimingProfile(_profile(sre={"uniform": {"low": 10, "high": 5}}))


def test_schema_invalid_profile_is_rejected() -> None:
    with pytest.raises(schemas.SchemaViolation, match=r"\$\.steps\.idr\.fixed"):
        TimingProfile(_profile(idr={"fixed": -1}))


def test_unknown_names_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="no timing profile named 'nope'"):
        TimingProfile.named("nope")
    with pytest.raises(KeyError, match="no step 'x'"):
        TimingProfile.sop().delay("x")
