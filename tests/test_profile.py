from __future__ import annotations

import json
from pathlib import Path

import pytest

import schemas
from protocol.profile import ProfileError, load_sut_profile, sut_profile_problems
from tests._mutate import mutate

PROFILE = schemas.examples("sut-profile")[0]


def test_example_profile_loads(tmp_path: Path) -> None:
    path = tmp_path / "sut.json"
    path.write_text(json.dumps(PROFILE))
    assert load_sut_profile(path) == PROFILE


def test_ori_outside_the_state_is_named() -> None:
    found = sut_profile_problems(mutate(PROFILE, "activated_oris.1", "VA0410000"))
    assert found == [
        "$.activated_oris[1]: ORI VA0410000 is not in state NC "
        "(rule: an ORI's first two characters are its state)"
    ]


def test_sib_ori_outside_the_state_is_named() -> None:
    assert sut_profile_problems(mutate(PROFILE, "sib_ori", "SC0000000")) == [
        "$.sib_ori: ORI SC0000000 is not in state NC (rule: same state)"
    ]


def test_schema_problems_come_first_and_name_path_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "sut.json"
    path.write_text(json.dumps(mutate(PROFILE, "nff", "yes")))
    with pytest.raises(ProfileError, match=r"\$\.nff: .*rule: type"):
        load_sut_profile(path)


def test_unparseable_profile_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "sut.json"
    path.write_text("{not json")
    with pytest.raises(ProfileError, match="not JSON"):
        load_sut_profile(path)


def test_an_ori_is_activated_or_not_never_both() -> None:
    assert PROFILE["non_activated_oris"]
    clash = mutate(PROFILE, "non_activated_oris.0", PROFILE["activated_oris"][0])
    assert sut_profile_problems(clash) == [
        f"$.non_activated_oris[0]: ORI {PROFILE['activated_oris'][0]} is also listed as "
        "activated (rule: an ORI is activated or not)"
    ]
    assert sut_profile_problems(mutate(PROFILE, "non_activated_oris.1", "VA0330000")) == [
        "$.non_activated_oris[1]: ORI VA0330000 is not in state NC "
        "(rule: an ORI's first two characters are its state)"
    ]
