"""Hypothesis strategies: every drawn message validates and keeps its message's rules."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import schemas
from protocol.ebts import CJIS_ORI, LESC_ORI, parse_gmt
from protocol.levels import highest_level
from synthetic.strategies import (
    MESSAGE_NAMES,
    charges,
    determinations,
    encounters,
    fragment,
    messages,
    oris,
    people,
)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PARTS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Doc = dict[str, Any]


def _history_level(determination: Doc) -> int | None:
    pairs = [(h["ncic"], h.get("sentence_days")) for h in determination["history"]]
    return highest_level(pairs, table=determination.get("level_table", "sop"))


@SETTINGS
@given(messages("car"))
def test_car(doc: Doc) -> None:
    assert schemas.problems("car", doc) == []
    assert doc["type1"]["tot"] == "CAR"
    assert doc["type1"]["dai"] == CJIS_ORI
    assert doc["type2"]["cri"][0] == doc["type1"]["ori"]
    assert doc["type2"]["doa"] <= doc["type1"]["dat"]


@SETTINGS
@given(messages("cpi"))
def test_cpi(doc: Doc) -> None:
    assert schemas.problems("cpi", doc) == []
    assert doc["type1"]["tot"] == "CPI"
    assert doc["type2"]["fbi"]
    assert "prints" not in doc


@SETTINGS
@given(messages("submission"))
def test_submission(doc: Doc) -> None:
    assert schemas.problems("submission", doc) == []
    assert doc["type1"]["tot"] in {"CAR", "CPI"}
    assert ("prints" in doc) == (doc["type1"]["tot"] == "CAR")


@SETTINGS
@given(messages("sre"))
def test_sre(doc: Doc) -> None:
    assert schemas.problems("sre", doc) == []
    assert doc["type1"]["ori"] == CJIS_ORI
    assert doc["type1"]["dai"] == doc["type1"]["tcr"][:9]
    if doc["type2"]["srf"] == "I":
        assert doc["type2"]["fbi"]
    ident = doc["type2"].get("ident")
    if ident is not None and ident["result"] == "no-match":
        assert ident["encounters"] == []


@SETTINGS
@given(messages("idr"))
def test_idr(doc: Doc) -> None:
    assert schemas.problems("idr", doc) == []
    body = doc["type2"]
    if body["result"] == "no-match":
        assert body["encounters"] == []
        assert "iar" not in body
    else:
        assert 1 <= len(body["encounters"]) <= 5
    assert parse_gmt(doc["type1"]["gmt"]).date().strftime("%Y%m%d") == doc["type1"]["dat"]


@SETTINGS
@given(messages("iaq"))
def test_iaq(doc: Doc) -> None:
    assert schemas.problems("iaq", doc) == []
    assert doc["type1"]["dai"] == LESC_ORI
    assert 1 <= len(doc["type2"]["srl"]) <= 5
    assert len(set(doc["type2"]["srl"])) == len(doc["type2"]["srl"])


@SETTINGS
@given(messages("iar"))
def test_iar(doc: Doc) -> None:
    assert schemas.problems("iar", doc) == []
    body = doc["type2"]
    assert doc["type1"]["ori"] == LESC_ORI
    if body["alienage"] == "us-citizen":
        assert body["offense_level"] is None
        assert body["removability"] == "not-applicable"
    else:
        assert body["offense_level"] == _history_level(body)


@SETTINGS
@given(messages("errt"))
def test_errt(doc: Doc) -> None:
    assert schemas.problems("errt", doc) == []
    assert doc["type1"]["tot"] == "ERRT"
    assert doc["type1"]["tcr"] != doc["type1"]["tcn"]
    assert all(m["field"].startswith("$.type") for m in doc["type2"]["msg"])


@SETTINGS
@given(messages("delivery"))
def test_delivery(doc: Doc) -> None:
    assert schemas.problems("delivery", doc) == []
    assert doc["type1"]["tot"] in {"SRE", "IDR", "IAR", "ERRT"}


@SETTINGS
@given(messages("detainer"))
def test_detainer(doc: Doc) -> None:
    assert schemas.problems("detainer", doc) == []
    assert doc["offense_level"] == 1
    assert doc["type1"]["dai"] == doc["lea"]
    if "release_notified_at" in doc:
        assert parse_gmt(doc["custody_deadline"]) >= parse_gmt(doc["release_notified_at"])


@SETTINGS
@given(messages("booking"))
def test_booking(doc: Doc) -> None:
    assert schemas.problems("booking", doc) == []
    if doc["prior_arrest_in_state"]:
        assert doc["fbi"]
        assert doc["sid"][:2] == doc["ori"][:2]


@SETTINGS
@given(messages("sut-profile"))
def test_sut_profile(doc: Doc) -> None:
    assert schemas.problems("sut-profile", doc) == []
    assert set(doc["opted_out_oris"]) <= set(doc["activated_oris"])
    assert all(ori[:2] == doc["state"] for ori in doc["activated_oris"])


@SETTINGS
@given(messages("timing-profile"))
def test_timing_profile(doc: Doc) -> None:
    assert schemas.problems("timing-profile", doc) == []
    for delay in doc["steps"].values():
        if "uniform" in delay:
            assert delay["uniform"]["low"] <= delay["uniform"]["high"]


def test_every_named_message_has_a_strategy() -> None:
    for name in MESSAGE_NAMES:
        assert name in schemas.NAMES
        messages(name)
    with pytest.raises(ValueError, match="no strategy"):
        messages("common")


def test_an_invalid_document_fails_loudly() -> None:
    with pytest.raises(schemas.SchemaViolation, match="nam"):
        fragment("common.json#/$defs/nam", "not a name")


@PARTS
@given(people())
def test_people(person: Doc) -> None:
    assert person["nam"].isupper()


@PARTS
@given(oris("NC"))
def test_oris_of_a_state(ori: str) -> None:
    assert ori.startswith("NC")
    assert ori.endswith("00")


@PARTS
@given(oris())
def test_oris_of_any_state(ori: str) -> None:
    assert len(ori) == 9


@PARTS
@given(charges(2, 4))
def test_charges(found: list[Doc]) -> None:
    assert 2 <= len(found) <= 4


@PARTS
@given(encounters(1, 5))
def test_encounters(found: list[Doc]) -> None:
    assert 1 <= len(found) <= 5
    assert len({e["srl"] for e in found}) == len(found)


@PARTS
@given(determinations())
def test_determinations(doc: Doc) -> None:
    if doc["alienage"] == "us-citizen":
        assert doc["offense_level"] is None
    else:
        assert doc["offense_level"] == _history_level(doc)
