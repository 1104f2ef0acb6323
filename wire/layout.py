"""The EBTS record layout of each message, derived from the `x-ebts` annotations of the schemas.

Nothing here names a field: every tag, mnemonic, repeat and information item comes from the
schemas. The annotation forms (see `README` of `wire`):

* ``{"tot": "CAR", "type2": "$.type2"}`` on a message schema's root: the TOT it is chosen by and
  the JSON path of its principal Type-2 record (``"$"`` when the root's own fields are it); an
  optional ``"fill"`` maps Type-1 tags the document has no property for to the property copied;
* ``{"record": 1}`` / ``{"record": 2}``: the object is the Type-1 header / a Type-2 record of its
  own (a further one after the principal in layout order; an array goes in a repeating field);
* ``{"record": 14}``: the fingerprint set, one Type-14 image record per impression;
* ``{"group": true}``: the object's fields are fields of the enclosing record;
* ``{"tag": "2.047", "mnemonic": "ASL", "repeat": true}``: a field (repeat: one subfield per item);
  ``"local": true`` marks a harness-defined field with no EBTS tag; ``"codes"`` on a scalar field
  maps each JSON value to the value written (``{"match": "I"}``);
* ``{"item": 2, "mnemonic": "AOL"}``: an information item of the enclosing field's subfields;
  ``{"tag": "2.919", "mnemonic": "ERC"}`` on an array item's property instead: a field of its own
  beside the enclosing one, its subfield N the property of the array's item N (how a value EBTS
  has no item for stays out of an EBTS field: the ERRT's code beside its free-text 2.060 MSG);
* on an image record's properties: ``"codes"`` (JSON value to field value), ``"count": true``
  (the number of image records), ``"image": true`` (the DATA the biometric key derives from).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any, NamedTuple

import schemas

__all__ = [
    "Field",
    "Group",
    "Images",
    "Item",
    "Layout",
    "Nested",
    "Part",
    "Scalar",
    "by_tot",
    "field_map",
    "layout",
    "tag_name",
    "tags",
]


class Scalar(NamedTuple):
    """How a single value is written: the JSON types it may take, and whether it is a GMT."""

    types: frozenset[str]
    gmt: bool


class Item(NamedTuple):
    """An information item of a field's subfields."""

    key: str
    position: int
    mnemonic: str
    scalar: Scalar
    local: bool = False
    tag: tuple[int, int] | None = None
    """Set when the item is written as a field of its own beside the enclosing one."""


class Field(NamedTuple):
    """A field: `tag` as ``(record type, field number)``; a scalar, or information items (in
    the schema's order; `Item.position` says where each goes in a subfield)."""

    key: str
    tag: tuple[int, int]
    mnemonic: str
    repeat: bool
    required: bool
    scalar: Scalar | None
    items: tuple[Item, ...]
    local: bool = False
    codes: Mapping[str, str] = {}
    """JSON value to the value written (a scalar field whose EBTS values are codes)."""


class Group(NamedTuple):
    """An object whose fields belong to the enclosing record."""

    key: str
    required: bool
    parts: tuple[Part, ...]


class Nested(NamedTuple):
    """An object written as a Type-2 record of its own."""

    key: str
    required: bool
    parts: tuple[Part, ...]


class Images(NamedTuple):
    """The fingerprint set: Type-14 records with a coded field, counted, and a DATA key."""

    key: str
    required: bool
    coded: Field
    codes: Mapping[str, str]
    count_key: str
    image_key: str


Part = Field | Group | Nested | Images


class Layout(NamedTuple):
    """One message kind: its schema name, TOT, principal Type-2 path, fills and parts."""

    name: str
    tot: str
    principal: str
    fill: Mapping[int, str]
    parts: tuple[Part, ...]


_Facet = tuple[Mapping[str, Any], Any]
"""A schema node and the `referencing` resolver its references are looked up with."""


def _facets(node: Mapping[str, Any], resolver: Any) -> Iterator[_Facet]:
    yield node, resolver
    ref = node.get("$ref")
    if isinstance(ref, str):
        found = resolver.lookup(ref)
        yield from _facets(found.contents, found.resolver)
    for sub in node.get("allOf", []):
        yield from _facets(sub, resolver)


def _first(facets: list[_Facet], key: str) -> Any:
    return next((node[key] for node, _ in facets if key in node), None)


def _properties(facets: list[_Facet]) -> dict[str, list[_Facet]]:
    merged: dict[str, list[_Facet]] = {}
    for node, resolver in facets:
        for key, sub in node.get("properties", {}).items():
            merged.setdefault(key, []).extend(_facets(sub, resolver))
    return merged


def _required(facets: list[_Facet]) -> set[str]:
    return {key for node, _ in facets for key in node.get("required", [])}


def _scalar(facets: list[_Facet]) -> Scalar:
    declared = _first(facets, "type")
    if declared is None:
        values = [_first(facets, "const")] if _first(facets, "const") is not None else []
        values += _first(facets, "enum") or []
        names = {"bool": "boolean", "int": "integer", "str": "string", "NoneType": "null"}
        declared = sorted({names[type(v).__name__] for v in values}) or ["string"]
    types = frozenset([declared] if isinstance(declared, str) else declared)
    return Scalar(types, _first(facets, "format") == "date-time")


def _items_facets(facets: list[_Facet]) -> list[_Facet]:
    for node, resolver in facets:
        if "items" in node:
            return list(_facets(node["items"], resolver))
    raise ValueError("an x-ebts repeat on a property that is not an array")


def _tag(text: str) -> tuple[int, int]:
    record, _, number = text.partition(".")
    return int(record), int(number)


def _field(key: str, ann: Mapping[str, Any], facets: list[_Facet], required: bool) -> Field:
    repeat = bool(ann.get("repeat"))
    value = _items_facets(facets) if repeat else facets
    props = _properties(value)
    items = tuple(_item(k, _ann(k, f), _scalar(f)) for k, f in props.items())
    scalar = None if items else _scalar(value)
    tag, mnemonic, local = _tag(ann["tag"]), str(ann["mnemonic"]), bool(ann.get("local"))
    codes = {str(k): str(v) for k, v in ann.get("codes", {}).items()}
    return Field(key, tag, mnemonic, repeat, required, scalar, items, local, codes)


def _item(key: str, ann: Mapping[str, Any], scalar: Scalar) -> Item:
    beside = _tag(ann["tag"]) if "tag" in ann else None
    position = 1 if beside else int(ann["item"])
    return Item(key, position, str(ann["mnemonic"]), scalar, bool(ann.get("local")), beside)


def _ann(key: str, facets: list[_Facet]) -> Mapping[str, Any]:
    found = _first(facets, "x-ebts")
    if not isinstance(found, Mapping):
        raise ValueError(f"property {key!r} has no x-ebts annotation: it cannot go on the wire")
    return found


def _images(key: str, facets: list[_Facet], required: bool) -> Images:
    props = _properties(facets)
    anns = {k: _ann(k, f) for k, f in props.items()}
    coded = next(k for k, a in anns.items() if "codes" in a)
    return Images(
        key,
        required,
        _field(coded, anns[coded], props[coded], coded in _required(facets)),
        dict(anns[coded]["codes"]),
        next(k for k, a in anns.items() if a.get("count")),
        next(k for k, a in anns.items() if a.get("image")),
    )


def _parts(facets: list[_Facet]) -> tuple[Part, ...]:
    required = _required(facets)
    out: list[Part] = []
    for key, sub in _properties(facets).items():
        ann, needed = _ann(key, sub), key in required
        if ann.get("record") == 14:
            out.append(_images(key, sub, needed))
        elif ann.get("record") == 1 or ann.get("group"):
            out.append(Group(key, needed, _parts(sub)))
        elif ann.get("record") == 2:
            if ann.get("repeat"):
                raise ValueError(f"{key!r}: an array goes in a repeating field, not in records")
            out.append(Nested(key, needed, _parts(sub)))
        else:
            out.append(_field(key, ann, sub, needed))
    return tuple(out)


def _roots() -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name in schemas.NAMES:
        ann = schemas.schema(name).get("x-ebts")
        if isinstance(ann, Mapping) and "tot" in ann:
            yield name, ann


@cache
def layout(name: str) -> Layout:
    """The layout of message kind `name` (a schema with a root ``x-ebts`` naming its TOT)."""
    ann = dict(_roots()).get(name)
    if ann is None:
        raise KeyError(f"schema {name!r} has no EBTS layout; known: {', '.join(by_tot().values())}")
    resolver = schemas.registry().resolver(base_uri=schemas.uri(name))
    facets = list(_facets(schemas.schema(name), resolver))
    fill = {_tag(t)[1]: str(k) for t, k in ann.get("fill", {}).items()}
    return Layout(name, str(ann["tot"]), str(ann["type2"]), fill, _parts(facets))


@cache
def by_tot() -> dict[str, str]:
    """Each TOT the wire knows and the schema of its message kind."""
    return {str(ann["tot"]): name for name, ann in _roots()}


def tags(parts: tuple[Part, ...]) -> Iterator[Field]:
    """Every field of `parts`, groups and nested records included (for tests and docs)."""
    for part in parts:
        if isinstance(part, Field):
            yield part
        elif isinstance(part, Group | Nested):
            yield from tags(part.parts)
        else:
            yield part.coded


def _rows(parts: tuple[Part, ...], path: str) -> Iterator[tuple[str, str, str, str]]:
    for part in parts:
        where = f"{path}.{part.key}"
        if isinstance(part, Field):
            here = where + ("[]" if part.repeat else "")
            tag = f"{part.tag[0]}.{part.tag[1]:03d}"
            yield tag, part.mnemonic, here, "harness" if part.local else "EBTS"
            for item in sorted(part.items, key=lambda it: (it.tag or part.tag, it.position)):
                owner = "harness" if item.local else "EBTS"
                at = f"{tag} item {item.position}"
                if item.tag is not None:
                    at = f"{item.tag[0]}.{item.tag[1]:03d}"
                yield at, item.mnemonic, f"{here}.{item.key}", owner
        elif isinstance(part, Group | Nested):
            yield from _rows(part.parts, where)
        else:
            tag = f"{part.coded.tag[1]:03d}"
            yield f"4.{tag} / 14.{tag}", part.coded.mnemonic, f"{where}.{part.coded.key}", "EBTS"
            yield "1.003", "CNT", f"{where}.{part.count_key}", "EBTS"
            yield "4.999 / 14.999", "DATA", f"{where}.{part.image_key}", "harness"


def field_map(name: str) -> list[tuple[str, str, str, str]]:
    """Message kind `name`'s fields as (EBTS tag, mnemonic, JSON path, whose: EBTS or harness),
    in layout order (the table of `docs/ebts-fields.md`)."""
    return list(_rows(layout(name).parts, "$"))


@cache
def _tag_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for name in by_tot().values():
        for tag, mnemonic, path, _ in field_map(name):
            names.setdefault(path.replace("[]", ""), f"{tag} {mnemonic}")
    return names


def tag_name(path: str) -> str | None:
    """The EBTS tag and mnemonic carrying the JSON path `path` (``$.type2.asl[0].aol`` is
    ``2.047 item 2 AOL``), or of the nearest enclosing element that has one; None when none."""
    here = re.sub(r"\[\d+\]", "", path)
    while here:
        if here in _tag_names():
            return _tag_names()[here]
        here = here.rpartition(".")[0]
    return None
