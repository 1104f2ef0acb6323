"""The `x-ebts` annotations: every property citing an EBTS tag carries one, and they agree."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import schemas
from wire.layout import Field, Group, Images, Nested, Part, by_tot, field_map, layout, tags

MESSAGE_SCHEMAS = (
    "common", "car", "cpi", "sre", "idr", "iaq", "iar", "errt", "detainer", "booking",
    "submission", "delivery",
)  # fmt: skip
_CITED = re.compile(r"EBTS (\d{1,2}\.\d{3}) ([A-Z]+)")
_SUBFIELD = re.compile(r"([A-Z]{3}) subfield")
_HARNESS = 900
"""The harness's own Type-2 fields are numbered from 2.900 up, beyond the ones EBTS defines."""


def _properties(node: Any, path: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every (parent path, key, property schema) under `node`, examples left out."""
    if isinstance(node, dict):
        for key, sub in node.get("properties", {}).items():
            if isinstance(sub, dict):
                yield path, key, sub
        for key, sub in node.items():
            if key != "examples":
                yield from _properties(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            yield from _properties(sub, f"{path}/{i}")


def _cited() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (f"{name}.json#{path}", key, prop)
        for name in MESSAGE_SCHEMAS
        for path, key, prop in _properties(schemas.schema(name), "")
        if _CITED.search(prop.get("description", ""))
    ]


def _all_fields() -> list[Field]:
    return [f for kind in by_tot().values() for f in tags(layout(kind).parts)]


@pytest.mark.parametrize(("where", "key", "prop"), _cited(), ids=lambda v: str(v)[:40])
def test_a_property_citing_an_ebts_tag_is_annotated_with_it(
    where: str, key: str, prop: dict[str, Any]
) -> None:
    cited = _CITED.search(prop["description"])
    assert cited is not None
    tag, mnemonic = cited.groups()
    ann = prop.get("x-ebts")
    assert isinstance(ann, dict), f"{where} {key} cites EBTS {tag} but has no x-ebts"
    assert not ann.get("local")
    if "item" in ann:
        subfield = _SUBFIELD.search(prop["description"])
        assert ann["mnemonic"] == (subfield[1] if subfield else mnemonic)
        holders = [f for f in _all_fields() if key in {i.key for i in f.items}]
        assert holders
        assert all(f"{f.tag[0]}.{f.tag[1]:03d}" == tag for f in holders)
    else:
        assert (ann["tag"], ann["mnemonic"]) == (tag, mnemonic)


def test_a_tag_without_a_citation_is_marked_local() -> None:
    for name in MESSAGE_SCHEMAS:
        for path, key, prop in _properties(schemas.schema(name), ""):
            ann = prop.get("x-ebts", {})
            if ("tag" in ann or "item" in ann) and not _CITED.search(prop.get("description", "")):
                assert ann.get("local"), f"{name}.json#{path} {key}: annotated but cites no tag"
                assert "tag" not in ann or int(ann["tag"].split(".")[1]) >= _HARNESS


def test_each_message_root_names_the_tot_its_examples_carry() -> None:
    for tot, kind in by_tot().items():
        for example in schemas.examples(kind):
            assert example.get("type1", {}).get("tot", tot) == tot


def _record_fields(parts: tuple[Part, ...]) -> Iterator[tuple[int, int]]:
    for part in parts:
        if isinstance(part, Field):
            yield part.tag
        elif isinstance(part, Group):
            yield from _record_fields(part.parts)
        elif isinstance(part, Images):
            yield part.coded.tag


def _records(parts: tuple[Part, ...]) -> Iterator[tuple[Part, ...]]:
    yield parts
    for part in parts:
        if isinstance(part, Nested):
            yield from _records(part.parts)
        elif isinstance(part, Group):
            yield from (r for r in _records(part.parts) if r is not part.parts)


@pytest.mark.parametrize("kind", sorted(by_tot().values()))
def test_a_record_holds_each_field_number_once(kind: str) -> None:
    for parts in _records(layout(kind).parts):
        numbers = list(_record_fields(parts))
        assert len(numbers) == len(set(numbers)), numbers
        assert all(n > 2 for _, n in numbers)


@pytest.mark.parametrize("kind", sorted(by_tot().values()))
def test_fields_hold_scalars_and_repeats_hold_arrays(kind: str) -> None:
    for field in tags(layout(kind).parts):
        scalars = [field.scalar] if field.scalar else [i.scalar for i in field.items]
        for scalar in scalars:
            assert scalar.types <= {"string", "integer", "boolean", "null"}, field
        positions = sorted(i.position for i in field.items if i.tag is None)
        assert len(set(positions)) == len(positions), field
        assert 0 not in positions, field
        assert all(i.position == 1 for i in field.items if i.tag is not None), field


def test_a_missing_annotation_is_named() -> None:
    with pytest.raises(KeyError, match="no EBTS layout"):
        layout("sut-profile")


def test_a_profile_on_the_email_wire_names_the_addresses_it_needs() -> None:
    profile = dict(schemas.examples("sut-profile")[0])
    profile["wire"] = {"submissions": "ebts-smtp", "deliveries": "ebts-smtp"}
    missing = {p.path for p in schemas.problems("sut-profile", profile)}
    assert missing == {"$.wire.cjis_smtp", "$.wire.sib_address", "$.wire.sib_relay"}
    profile["wire"] |= {
        "sib_address": "sib@state.invalid",
        "sib_relay": "mail.state.invalid:25",
        "cjis_smtp": "127.0.0.1:2525",
    }
    assert schemas.problems("sut-profile", profile) == []
    profile["wire"]["lea_routing"] = "ebts-smtp"
    assert {p.path for p in schemas.problems("sut-profile", profile)} == {"$.wire.lea_routing"}


def field_table(name: str) -> str:
    """The markdown table of message kind `name`'s fields (`wire.layout.field_map`)."""
    lines = ["| EBTS tag | mnemonic | JSON path | whose |", "|---|---|---|---|"]
    lines += [
        f"| {tag} | {mne} | `{path}` | {whose} |" for tag, mne, path, whose in field_map(name)
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("tot", sorted(by_tot()))
def test_the_field_map_in_the_docs_is_the_layout(tot: str) -> None:
    """docs/ebts-fields.md shows each message's fields as the schemas lay them out (regenerate
    its tables with `field_table` when a schema's x-ebts annotations change)."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "ebts-fields.md").read_text()
    name = by_tot()[tot]
    assert f"### {tot} (`schemas/{name}.json`)\n\n{field_table(name)}" in doc
