"""Bad wire input: a problem naming record and field, ready for an ERRT; never anything else."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas
from wire import codec
from wire.ansi_nist import Problem, Record, WireError, encode_records, parse_records

ERRT_ENTRY = "errt.json#/properties/type2/properties/msg/items"
CAR = schemas.examples("car")[0]
IDR = schemas.examples("idr")[0]
SRE_NFF = schemas.examples("sre")[1]


def _problems(data: bytes) -> list[Problem]:
    with pytest.raises(WireError) as caught:
        codec.decode(data)
    found = caught.value.problems
    assert found
    for problem in found:
        assert schemas.problems(ERRT_ENTRY, problem.errt()) == []
    return found


def _only(data: bytes) -> Problem:
    found = _problems(data)
    assert len(found) == 1, found
    return found[0]


def _records(doc: dict[str, object]) -> list[Record]:
    return parse_records(codec.encode(doc))


def test_a_wrong_len_names_the_record_and_its_len_field() -> None:
    data = codec.encode(IDR)
    length = re.search(rb"\x1c2\.001:(\d+)", data)
    assert length is not None
    wrong = data.replace(length[0], b"\x1c2.001:" + str(int(length[1]) + 3).encode(), 1)
    problem = _only(wrong)
    assert (problem.code, problem.record, problem.tag) == ("H0002", 2, "2.001")
    assert "LEN says" in problem.text
    assert problem.errt()["field"] == "$.records[2].2.001"


def test_a_missing_field_separator_names_the_field_it_runs_into() -> None:
    records = _records(IDR)
    principal = records[1].fields
    records[1] = Record(2, {2: principal[2], 59: str(principal[59]) + "2.905:alien"})
    problem = _only(encode_records(records[0], records[1:]))
    assert (problem.code, problem.record, problem.tag) == ("H0002", 2, "2.059")
    assert "GS separator is missing" in problem.text


def test_a_missing_record_separator_is_found_by_the_len_of_its_record() -> None:
    data = codec.encode(IDR)
    first_fs = data.index(b"\x1c")
    problem = _only(data[:first_fs] + data[first_fs + 1 :])
    assert (problem.code, problem.record, problem.tag) == ("H0002", 1, "1.001")


def test_a_truncated_record_is_named_with_the_bytes_missing() -> None:
    data = codec.encode(CAR)
    problem = _only(data[:-100])
    last = len(_records(CAR))
    assert (problem.code, problem.record, problem.tag) == ("H0001", last, "14.001")
    assert "truncated" in problem.text


def test_a_file_cut_inside_a_text_record_is_truncated() -> None:
    data = codec.encode(IDR)
    problem = _only(data[:40])
    assert (problem.code, problem.record, problem.tag) == ("H0001", 1, "1.001")


def test_an_unknown_tot_is_named_with_the_known_ones() -> None:
    records = _records(IDR)
    records[0].fields[4] = "XYZ"
    problem = _only(encode_records(records[0], records[1:]))
    assert (problem.code, problem.record, problem.tag) == ("H0002", 1, "1.004")
    assert "'XYZ'" in problem.text
    assert "CAR" in problem.text


def test_a_count_not_matching_the_records_is_an_inconsistent_header() -> None:
    data = codec.encode(CAR)
    last_record = data.rindex(b"14.001:")
    problem = _only(data[:last_record])
    assert (problem.code, problem.record, problem.tag) == ("H0003", 1, "1.003")
    assert f"lists {1 + CAR['prints']['impressions']} records" in problem.text


def test_a_count_naming_the_wrong_records_is_an_inconsistent_header() -> None:
    data = codec.encode(SRE_NFF)
    swapped = data.replace(b"\x1e2\x1f01", b"\x1e14\x1f01", 1)
    length = re.match(rb"1\.001:(\d+)", swapped)
    assert length is not None
    fixed = str(int(length[1]) + 1).encode()
    problem = _only(swapped.replace(length[0], b"1.001:" + fixed, 1))
    assert (problem.code, problem.tag) == ("H0003", "1.003")
    assert "Type-14 IDC 01 as record 3" in problem.text


def test_missing_header_fields_are_each_named() -> None:
    records = _records(CAR)
    del records[0].fields[9]
    del records[0].fields[7]
    found = _problems(encode_records(records[0], records[1:]))
    assert {(p.code, p.tag) for p in found} == {("H0001", "1.007"), ("H0001", "1.009")}


def test_a_value_of_the_wrong_kind_names_its_field_and_keeps_the_tcn() -> None:
    records = _records(CAR)
    records[0].fields[6] = "high"
    with pytest.raises(WireError) as caught:
        codec.decode(encode_records(records[0], records[1:]))
    assert caught.value.tcn == CAR["type1"]["tcn"]
    [problem] = caught.value.problems
    assert (problem.code, problem.record, problem.tag) == ("E0002", 1, "1.006")


@pytest.mark.parametrize("data", [b"", b"hello", b"1.001:", b"1.001:12", b"2.001:9\x1d2.002:0\x1c"])
def test_what_is_not_a_transaction_is_a_problem(data: bytes) -> None:
    assert _problems(data)


def test_a_file_some_other_system_wrote_may_carry_fields_we_do_not_know() -> None:
    records = _records(copy.deepcopy(CAR))
    records[1].fields[70] = "RAP SHEET"
    kind, doc = codec.decode(encode_records(records[0], records[1:]))
    assert (kind, doc) == ("car", CAR)


def test_a_damaged_idc_is_a_cnt_problem_not_a_crash() -> None:
    data = codec.encode(IDR)
    at = data.find(b"\x1d2.002:") + len(b"\x1d2.002:")
    with pytest.raises(WireError) as caught:
        codec.decode(data[:at] + b"\x00" + data[at + 1 :])
    assert caught.value.problems[0].tag == "1.003"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.binary(max_size=8), st.integers(0, 8))
def test_damaged_files_raise_only_wire_errors(at: int, junk: bytes, cut: int) -> None:
    data = codec.encode(IDR)
    at %= len(data)
    damaged = data[:at] + junk + data[at + cut :]
    problems: list[Problem] = []
    try:
        codec.decode(damaged)
    except WireError as error:
        problems = error.problems
    assert all(schemas.problems(ERRT_ENTRY, p.errt()) == [] for p in problems)
