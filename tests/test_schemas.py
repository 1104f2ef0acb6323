from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import schemas
from tests._mutate import DELETE, mutate

DEFINITIONS_ONLY = ("common", "api")
MESSAGES = [n for n in schemas.NAMES if n not in DEFINITIONS_ONLY]
MNEMONIC = re.compile(r"EBTS \d\.\d{3}")
EBTS_FIELDS = {
    "tot", "dat", "pry", "dai", "ori", "tcn", "tcr", "gmt", "nam", "aka", "pob", "dob", "sex",
    "rac", "hgt", "wgt", "eye", "hai", "doa", "asl", "sid", "fbi", "cri", "srf", "msg",
}  # fmt: skip


@pytest.mark.parametrize("name", schemas.NAMES)
def test_schema_is_valid_2020_12(name: str) -> None:
    document = schemas.schema(name)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == schemas.uri(name)
    Draft202012Validator.check_schema(document)


@pytest.mark.parametrize("name", MESSAGES)
def test_examples_validate(name: str) -> None:
    examples = schemas.examples(name)
    assert examples, f"{name} carries no examples"
    for example in examples:
        assert schemas.problems(name, example) == []


@pytest.mark.parametrize("name", DEFINITIONS_ONLY)
def test_definitions_carry_valid_examples(name: str) -> None:
    checked = 0
    for key, definition in schemas.schema(name)["$defs"].items():
        for example in definition.get("examples", []):
            assert schemas.problems(f"{name}.json#/$defs/{key}", example) == [], (key, example)
            checked += 1
    assert checked >= 8


def test_parts_of_schemas_validate_by_reference() -> None:
    found = schemas.problems("booking.json#/properties/person", {"nam": "DOE,JANE"})
    assert ("$.dob", "required") in {(p.path, p.rule) for p in found}


def _properties(node: Any, where: str = "$") -> list[tuple[str, str, dict[str, Any]]]:
    found: list[tuple[str, str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for prop, sub in node.get("properties", {}).items():
            if isinstance(sub, dict):
                found.append((f"{where}.{prop}", prop, sub))
        for key, sub in node.items():
            if key not in {"if", "not"}:
                found.extend(_properties(sub, f"{where}/{key}"))
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            found.extend(_properties(sub, f"{where}[{i}]"))
    return found


@pytest.mark.parametrize("name", schemas.NAMES)
def test_every_property_is_described_and_ebts_fields_cite_their_tag(name: str) -> None:
    for where, prop, sub in _properties(schemas.schema(name)):
        constrains_only = set(sub) <= {"const", "enum", "minItems", "maxItems", "minimum", "not"}
        if constrains_only:
            continue
        assert sub.get("description"), f"{name} {where} has no description"
        if prop in EBTS_FIELDS and not sub.get("x-ebts", {}).get("local"):
            assert MNEMONIC.search(sub["description"]), f"{name} {where} cites no EBTS tag"


CAR = schemas.examples("car")[0]
CPI = schemas.examples("cpi")[0]
SRE = schemas.examples("sre")[0]
IDR_MATCH, IDR_NO_MATCH = schemas.examples("idr")
IAQ = schemas.examples("iaq")[0]
IAR_ALIEN, IAR_CITIZEN = schemas.examples("iar")
NLETS_IAQ = schemas.examples("nlets-iaq")[0]
NLETS_IAR, NLETS_NO_RECORD = schemas.examples("nlets-iar")
ERRT = schemas.examples("errt")[0]
DETAINER = schemas.examples("detainer")[0]
BOOKING = schemas.examples("booking")[0]
PROFILE = schemas.examples("sut-profile")[0]
TIMING = schemas.examples("timing-profile")[0]
SCENARIO = schemas.examples("scenario")[1]
CATALOG = schemas.examples("requirements")[0]
REPORT = schemas.examples("report")[0]

# (schema, valid document, path to change, new value, expected JSON path, expected rule)
INVALID = [
    ("car", CAR, "type2.dob", DELETE, "$.type2.dob", "required"),
    ("car", CAR, "type1.ori", "nc0920000", "$.type1.ori", "pattern"),
    ("car", CAR, "type2.doa", "20261332", "$.type2.doa", "pattern"),
    ("car", CAR, "type2.doa", "20260230", "$.type2.doa", "format"),
    ("car", CAR, "type1.tot", "CPI", "$.type1.tot", "const"),
    ("car", CAR, "type2.asl", [], "$.type2.asl", "minItems"),
    ("car", CAR, "prints.impressions", 2, "$.prints.impressions", "minimum"),
    ("car", CAR, "type2.photo", "x", "$.type2.photo", "additionalProperties"),
    ("car", CAR, "type1.tcn", "SHORT", "$.type1.tcn", "pattern"),
    ("car", CAR, "type2.nam", "DOE JOHN", "$.type2.nam", "pattern"),
    ("cpi", CPI, "type2.fbi", DELETE, "$.type2.fbi", "required"),
    ("cpi", CPI, "type2.asl", DELETE, "$.type2.asl", "required"),
    ("cpi", CPI, "type2.asl.0.ncic", "13", "$.type2.asl[0].ncic", "pattern"),
    ("cpi", CPI, "type1.pry", 0, "$.type1.pry", "minimum"),
    ("sre", SRE, "type2.srf", "X", "$.type2.srf", "enum"),
    ("sre", SRE, "type2.fbi", DELETE, "$.type2.fbi", "required"),
    ("sre", SRE, "type1.tcr", DELETE, "$.type1.tcr", "required"),
    ("idr", IDR_MATCH, "type2.encounters", [], "$.type2.encounters", "minItems"),
    ("idr", IDR_MATCH, "type2.encounters", [IDR_MATCH["type2"]["encounters"][0]] * 6,
     "$.type2.encounters", "maxItems"),
    ("idr", IDR_NO_MATCH, "type2.iar", IDR_MATCH["type2"]["iar"], "$.type2.iar", "not"),
    ("idr", IDR_MATCH, "type2.encounters.0.srl", "SRL-1", "$.type2.encounters[0].srl", "pattern"),
    ("idr", IDR_MATCH, "type2.result", "maybe", "$.type2.result", "enum"),
    ("iaq", IAQ, "type2.srl", [], "$.type2.srl", "minItems"),
    ("iaq", IAQ, "type2.lea", DELETE, "$.type2.lea", "required"),
    ("iaq", IAQ, "type1.gmt", "2026-11-25 12:14", "$.type1.gmt", "pattern"),
    ("iar", IAR_ALIEN, "type2.offense_level", 4, "$.type2.offense_level", "enum"),
    ("iar", IAR_CITIZEN, "type2.offense_level", 1, "$.type2.offense_level", "const"),
    ("iar", IAR_CITIZEN, "type2.removability", "removable", "$.type2.removability", "const"),
    ("iar", IAR_ALIEN, "type2.history.0.disposition", "acquitted",
     "$.type2.history[0].disposition", "enum"),
    ("nlets-iaq", NLETS_IAQ, "header.dst", "VTLESC000", "$.header.dst", "const"),
    ("nlets-iaq", NLETS_IAQ, "txt.pob", DELETE, "$.txt.pob", "required"),
    ("nlets-iaq", NLETS_IAQ, "txt.nam", "QUILLFEATHERINGTON,ODESSA MAEBELLE", "$.txt.nam",
     "maxLength"),
    ("nlets-iaq", NLETS_IAQ, "txt.pur", "X", "$.txt.pur", "enum"),
    ("nlets-iar", NLETS_IAR, "txt.basis", "fingerprints", "$.txt.basis", "const"),
    ("nlets-iar", NLETS_IAR, "txt.confirmed", True, "$.txt.confirmed", "const"),
    ("nlets-iar", NLETS_IAR, "txt.candidates", [], "$.txt.candidates", "minItems"),
    ("nlets-iar", NLETS_NO_RECORD, "txt.candidates", NLETS_IAR["txt"]["candidates"],
     "$.txt.candidates", "maxItems"),
    ("nlets-iar", NLETS_IAR, "header.mir", DELETE, "$.header.mir", "required"),
    ("nlets-iar", NLETS_IAR, "txt.candidates.0.match", "fingerprint",
     "$.txt.candidates[0].match", "enum"),
    ("errt", ERRT, "type2.msg", [], "$.type2.msg", "minItems"),
    ("errt", ERRT, "type2.msg.0.code", "E9999", "$.type2.msg[0].code", "enum"),
    ("errt", ERRT, "type2.msg.0.field", "type2.dob", "$.type2.msg[0].field", "pattern"),
    ("detainer", DETAINER, "offense_level", 2, "$.offense_level", "const"),
    ("detainer", DETAINER, "custody_deadline", DELETE, "$.custody_deadline", "dependentRequired"),
    ("detainer", DETAINER, "subject.file_no", "A123456789", "$.subject.file_no", "pattern"),
    ("booking", BOOKING, "prior_arrest_in_state", "no", "$.prior_arrest_in_state", "type"),
    ("booking", BOOKING, "person.sex", "Q", "$.person.sex", "enum"),
    ("booking", BOOKING, "charges", DELETE, "$.charges", "required"),
    ("booking", BOOKING, "prints.kind", "flat-two-print", "$.prints.impressions", "const"),
    ("sut-profile", PROFILE, "state", "ZZ", "$.state", "enum"),
    ("sut-profile", PROFILE, "activated_oris", [], "$.activated_oris", "minItems"),
    ("sut-profile", PROFILE, "lea_inbox_base", "ftp://x", "$.lea_inbox_base", "pattern"),
    ("timing-profile", TIMING, "steps.idr", {"fixed": -5}, "$.steps.idr.fixed", "minimum"),
    ("timing-profile", TIMING, "steps.iar", DELETE, "$.steps.iar", "required"),
    ("timing-profile", TIMING, "steps.sre", {"lognormal": {"median": 0, "sigma": 1}},
     "$.steps.sre.lognormal.median", "exclusiveMinimum"),
    ("scenario", SCENARIO, "late_iar", "keep", "$.late_iar", "enum"),
    ("scenario", SCENARIO, "overrides.0.when", {}, "$.overrides[0].when", "minProperties"),
    ("scenario", SCENARIO, "overrides.1.faults.0.times", 0, "$.overrides[1].faults[0].times",
     "minimum"),
    ("scenario", SCENARIO, "subjects.0.fbi", DELETE, "$.subjects[0].fbi", "required"),
    ("requirements", CATALOG, "requirements.0.id", "nff1", "$.requirements[0].id", "pattern"),
    ("report", REPORT, "verdict", "almost", "$.verdict", "enum"),
    ("report", REPORT, "checks.0.outcome", "skipped", "$.checks[0].outcome", "enum"),
    ("report", REPORT, "schemas_digest", "abc", "$.schemas_digest", "pattern"),
    ("requirements", CATALOG, "requirements.0.level", "MAY", "$.requirements[0].level", "enum"),
    ("requirements", CATALOG, "requirements.0.checks", [], "$.requirements[0].checks",
     "minItems"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "valid", "change", "value", "path", "rule"),
    INVALID,
    ids=[f"{row[0]}:{row[2]}:{row[5]}" for row in INVALID],
)
def test_invalid_document_is_rejected_naming_path_and_rule(
    name: str, valid: Any, change: str, value: object, path: str, rule: str
) -> None:
    assert schemas.problems(name, valid) == []
    found = schemas.problems(name, mutate(valid, change, value))
    assert (path, rule) in {(p.path, p.rule) for p in found}, found


def test_each_message_has_at_least_three_invalid_cases() -> None:
    counts = {name: sum(1 for row in INVALID if row[0] == name) for name in MESSAGES}
    unions = {"submission", "delivery"}
    missing = {n: c for n, c in counts.items() if c < 3 and n not in unions}
    assert missing == {}


@pytest.mark.parametrize(
    ("name", "document", "path", "rule"),
    [
        ("submission", mutate(CAR, "type2.dob", DELETE), "$.type2.dob", "required"),
        ("submission", mutate(CPI, "type2.fbi", DELETE), "$.type2.fbi", "required"),
        ("submission", mutate(CAR, "type1.tot", "SRE"), "$.type1.tot", "enum"),
        ("delivery", mutate(IDR_MATCH, "type2.result", "x"), "$.type2.result", "enum"),
        ("delivery", mutate(ERRT, "type2.permanent", DELETE), "$.type2.permanent", "required"),
        ("delivery", mutate(SRE, "type1.tot", "CAR"), "$.type1.tot", "enum"),
    ],
)
def test_unions_dispatch_on_tot(name: str, document: Any, path: str, rule: str) -> None:
    assert (path, rule) in {(p.path, p.rule) for p in schemas.problems(name, document)}


def test_validate_raises_naming_every_path_and_rule() -> None:
    broken = mutate(mutate(CAR, "type2.dob", DELETE), "type1.ori", "bad")
    with pytest.raises(schemas.SchemaViolation) as caught:
        schemas.validate("car", broken)
    text = str(caught.value)
    assert "$.type2.dob" in text
    assert "rule: required" in text
    assert "$.type1.ori" in text
    assert "rule: pattern" in text
    assert [p.path for p in caught.value.problems] == ["$.type1.ori", "$.type2.dob"]


def test_non_object_documents_are_problems_not_crashes() -> None:
    junks: list[object] = [None, [], "CAR", 3, {"type1": "x"}]
    for junk in junks:
        assert schemas.problems("car", junk)


def test_validators_are_built_once() -> None:
    assert schemas.validator("car") is schemas.validator("car")
    assert schemas.registry() is schemas.registry()


def test_registry_resolves_cross_file_references() -> None:
    resolver = schemas.registry().resolver()
    resolved = resolver.lookup(f"{schemas.uri('car')}#/properties/type2/properties/asl")
    assert resolved.contents["$ref"] == "common.json#/$defs/charges"
    charges = resolver.lookup(f"{schemas.uri('common')}#/$defs/charges")
    assert charges.contents["minItems"] == 1


def test_unknown_schema_name_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="no schema named 'cat'"):
        schemas.schema("cat")


def test_digest_is_a_sha256_of_the_schema_files() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", schemas.digest())


def _reference_valid(name: str, document: Any) -> bool:
    return not any(True for _ in schemas.validator(name).iter_errors(document))


@pytest.mark.parametrize(
    ("name", "valid", "change", "value"),
    [row[:4] for row in INVALID],
    ids=[f"{row[0]}:{row[2]}" for row in INVALID],
)
def test_fast_engine_rejects_what_the_reference_engine_rejects(
    name: str, valid: Any, change: str, value: object
) -> None:
    broken = mutate(valid, change, value)
    assert schemas._fast(name).is_valid(valid)
    assert not schemas._fast(name).is_valid(broken)
    assert not _reference_valid(name, broken)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(name=st.sampled_from(MESSAGES), noise=JSON, data=st.data())
@settings(max_examples=300, deadline=None)
def test_both_engines_agree_on_any_document(name: str, noise: Any, data: st.DataObject) -> None:
    examples = schemas.examples(name)
    from_example: bool = data.draw(st.booleans())
    document: Any
    if examples and from_example:
        document = copy.deepcopy(data.draw(st.sampled_from(examples)))
        if isinstance(document, dict) and document:
            document[data.draw(st.sampled_from(sorted(document)))] = noise
    else:
        document = noise
    assert schemas._fast(name).is_valid(document) == _reference_valid(name, document)


@pytest.mark.parametrize(
    ("ref", "value"),
    [
        ("common.json#/$defs/ori", "NC0920000\n"),
        ("common.json#/$defs/tcn", "NC0920000-20261125-000001\n"),
        ("common.json#/$defs/gmt", "2026-11-25T12:00:00Z\n"),
    ],
)
def test_a_trailing_newline_breaks_a_pattern_in_both_engines(ref: str, value: str) -> None:
    assert "pattern" in {p.rule for p in schemas.problems(ref, value)}
    assert not schemas._fast(ref).is_valid(value)
    assert schemas.problems(ref, value.rstrip("\n")) == []


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for k, v in node.items() if k != "$ref" for r in _refs(v)
        ]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def test_sib_interface_is_openapi_3_1_whose_references_resolve_inside() -> None:
    document = schemas.openapi("sib")
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/bookings",
        "/cjis/responses",
        "/nlets/iaq",
        "/nlets/responses",
    }
    refs = _refs(document)
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        node: Any = document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        assert isinstance(node, dict | bool)
