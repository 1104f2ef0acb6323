"""JSON -> EBTS -> JSON is the identity for every message kind: examples and drawn documents."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import schemas
from synthetic.strategies import messages
from wire import codec
from wire.ansi_nist import FS, GS, RS, US, parse_records
from wire.layout import by_tot

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = sorted(by_tot().values())

Doc = dict[str, Any]


def _round_trip(doc: Doc, kind: str) -> Doc:
    data = codec.encode(doc, kind)
    decoded_kind, back = codec.decode(data)
    assert decoded_kind == kind
    assert schemas.problems(kind, back) == []
    return back


def test_every_message_kind_has_a_layout() -> None:
    expected = {"car", "cpi", "sre", "idr", "iaq", "iar", "errt", "detainer", "booking"}
    assert set(KINDS) == expected


@pytest.mark.parametrize("kind", KINDS)
def test_schema_examples_round_trip(kind: str) -> None:
    found = schemas.examples(kind)
    assert found
    for example in found:
        assert _round_trip(example, kind) == example


@pytest.mark.parametrize("union", ["submission", "delivery"])
def test_union_examples_round_trip_by_their_tot(union: str) -> None:
    for example in schemas.examples(union):
        kind = codec.kind_of(example)
        assert _round_trip(example, kind) == example
        assert schemas.problems(union, codec.decode(codec.encode(example))[1]) == []


def _drawn(kind: str) -> Any:
    @SETTINGS
    @given(messages(kind))
    def check(doc: Doc) -> None:
        assert _round_trip(doc, kind) == doc

    return check


test_car_round_trips = _drawn("car")
test_cpi_round_trips = _drawn("cpi")
test_sre_round_trips = _drawn("sre")
test_idr_round_trips = _drawn("idr")
test_iaq_round_trips = _drawn("iaq")
test_iar_round_trips = _drawn("iar")
test_errt_round_trips = _drawn("errt")
test_detainer_round_trips = _drawn("detainer")
test_booking_round_trips = _drawn("booking")


def test_the_header_is_type_1_with_count_and_version() -> None:
    car = schemas.examples("car")[0]
    records = parse_records(codec.encode(car))
    header = records[0].fields
    assert records[0].type == 1
    assert header[2] == "0500"
    assert header[4] == "CAR"
    assert header[9] == car["type1"]["tcn"]
    assert header[14] == "20261125120000Z"
    kinds = [r.type for r in records[1:]]
    assert kinds == [2] + [14] * car["prints"]["impressions"]
    assert str(header[3]).split("\x1e")[0] == f"1\x1f{len(kinds)}"


def test_len_counts_every_byte_of_each_record() -> None:
    data = codec.encode(schemas.examples("idr")[0])
    pos = 0
    while pos < len(data):
        tag_end = data.index(b":", pos)
        length = int(data[tag_end + 1 : data.index(GS.encode(), pos)])
        assert data[pos + length - 1 : pos + length] == FS.encode()
        pos += length
    assert pos == len(data)


def test_an_idr_iar_is_one_type2_record_with_srf_and_the_encounters_as_can() -> None:
    idr = schemas.examples("idr")[0]
    records = parse_records(codec.encode(idr))
    type2 = [r.fields for r in records if r.type == 2]
    assert len(type2) == 1
    assert type2[0][59] == "I"
    candidates = str(type2[0][64]).split(RS)
    assert [c.split(US)[1] for c in candidates] == [e["nam"] for e in idr["type2"]["encounters"]]
    assert type2[0][18] == idr["type2"]["iar"]["nam"]
    assert parse_records(codec.encode(schemas.examples("idr")[1]))[1].fields[59] == "N"


def test_an_errt_msg_is_free_text_alone_its_code_and_path_beside_it() -> None:
    errt = schemas.examples("errt")[0]
    type2 = parse_records(codec.encode(errt))[1].fields
    assert type2[60] == errt["type2"]["msg"][0]["text"]
    assert (type2[919], type2[920]) == ("E0001", "$.type2.dob")


def test_the_biometric_key_derives_from_the_image_bytes() -> None:
    car = schemas.examples("car")[0]
    data = codec.encode(car)
    images = [r.fields[999] for r in parse_records(data) if r.type == 14]
    key = car["prints"]["biometric_key"].encode()
    assert all(isinstance(i, bytes) and key in i for i in images)
    foreign = data.replace(b"SYNTHETIC-PRINT ", b"SCANNED-BY-LAB  ")
    derived = codec.decode(foreign)[1]["prints"]["biometric_key"]
    assert derived.encode() != key
    assert derived == codec.decode(foreign)[1]["prints"]["biometric_key"]
    assert schemas.problems("common.json#/$defs/prints", codec.decode(foreign)[1]["prints"]) == []


def test_a_value_holding_a_separator_cannot_be_written() -> None:
    errt = copy.deepcopy(schemas.examples("errt")[0])
    errt["type2"]["msg"][0]["text"] = "bad\x1dvalue"
    with pytest.raises(ValueError, match=r"\$\.type2\.msg\[0\]\.text"):
        codec.encode(errt)


def test_a_booking_has_its_header_filled_from_its_fields() -> None:
    booking = schemas.examples("booking")[0]
    header = parse_records(codec.encode(booking, "booking"))[0].fields
    assert (header[4], header[5], header[7], header[8], header[9]) == (
        "BKG",
        booking["doa"],
        booking["ori"],
        booking["ori"],
        booking["booking_id"],
    )
    with pytest.raises(ValueError, match="TOT None"):
        codec.encode(booking)


def test_non_ascii_text_declares_utf8() -> None:
    errt = copy.deepcopy(schemas.examples("errt")[0])
    errt["type2"]["msg"][0]["text"] = "DOB (2.022) manquante: naïve"
    data = codec.encode(errt)
    assert parse_records(data)[0].fields[15] == "3\x1fUTF-8"
    assert codec.decode(data)[1] == errt
