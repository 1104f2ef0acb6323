"""JSON documents to EBTS transactions in the traditional encoding, and back.

The JSON document stays the canonical model: `decode(encode(doc))` gives `doc` back for every
message kind with an EBTS layout (`wire.layout`). The layout comes from the schemas' `x-ebts`
annotations; this module only knows how a field, a repeat, an information item, a nested Type-2
record and an image record are written. Harness conventions beyond EBTS:

* a Type-2 record beside the principal one (the NFF additional SRE's IDENT part) carries the
  layout's next nested part, in layout order: no field names it;
* booleans are ``Y``/``N``; a JSON null is an absent field; an ISO 8601 UTC timestamp with a Z is
  written as EBTS GMT ``CCYYMMDDhhmmssZ``;
* a message kind with no Type-1 in its JSON (a booking) takes TOT from its layout, and the Type-1
  fields named in the layout's ``fill`` from the properties named there.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from . import MEDIA_TYPE, image
from .ansi_nist import (
    BINARY_TYPES,
    DATA,
    RS,
    US,
    Problem,
    Record,
    WireError,
    encode_records,
    read_records,
)
from .layout import Field, Group, Images, Layout, Nested, Part, Scalar, by_tot, layout, tags

__all__ = [
    "IMAGE_TYPES",
    "Decoded",
    "as_sent",
    "decode",
    "encode",
    "kind_of",
    "read",
    "request_body",
]

_SEPARATORS = re.compile("[\x1c-\x1f]")
_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z")
_COMPACT = re.compile(r"(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z")
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_IMAGE_HEADER = {8: "1", 9: "500", 10: "500", 12: "8"}
IMAGE_TYPES = frozenset({4, 14})
"""The fingerprint image records a message with prints may carry: binary Type-4 (the classic
tenprint record) or tagged Type-14."""


def kind_of(doc: Mapping[str, Any]) -> str:
    """The message kind (schema name) of a document, by its Type-1 TOT."""
    header = doc.get("type1")
    tot = header.get("tot") if isinstance(header, Mapping) else None
    if tot not in by_tot():
        raise ValueError(f"TOT {tot!r} has no EBTS layout; known: {', '.join(by_tot())}")
    return by_tot()[str(tot)]


# --- encoding ---------------------------------------------------------------------------------


def _scalar_text(value: Any, where: str, scalar: Scalar) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"{where}: a {type(value).__name__} cannot be written to an EBTS field")
    if _SEPARATORS.search(value):
        raise ValueError(f"{where}: the value holds an ANSI/NIST separator character")
    if scalar.gmt and _ISO.fullmatch(value):
        return "".join(_ISO.fullmatch(value).groups()) + "Z"  # type: ignore[union-attr]
    return value


def _field_texts(field: Field, value: Any, where: str) -> dict[tuple[int, int], str]:
    """The text of `field` by tag: its own, and that of each field beside it (`Item.tag`)."""
    values = value if field.repeat else [value]
    beside = sorted({it.tag for it in field.items if it.tag is not None})
    subfields: dict[tuple[int, int], list[str]] = {t: [] for t in [field.tag, *beside]}
    for i, one in enumerate(values):
        here = f"{where}[{i}]" if field.repeat else where
        if field.scalar is not None:
            coded = field.codes.get(str(one), one) if isinstance(one, str) else one
            subfields[field.tag].append(_scalar_text(coded, here, field.scalar))
            continue
        for tag in subfields:
            mine = [it for it in field.items if (it.tag or field.tag) == tag]
            items = [""] * max((it.position for it in mine), default=0)
            for it in mine:
                value = one.get(it.key)
                items[it.position - 1] = _scalar_text(value, f"{here}.{it.key}", it.scalar)
            while items and not items[-1]:
                items.pop()
            subfields[tag].append(US.join(items))
    return {tag: RS.join(subs) for tag, subs in subfields.items() if any(subs)}


class _Out(NamedTuple):
    header: dict[int, str | bytes]
    records: list[tuple[str, dict[int, str | bytes]]]
    images: list[dict[int, str | bytes]]
    image_type: int


def _write(parts: tuple[Part, ...], doc: Mapping[str, Any], path: str, out: _Out) -> None:
    record = out.records[-1][1]
    for part in parts:
        value = doc.get(part.key)
        where = f"{path}.{part.key}"
        if value is None:
            continue
        if isinstance(part, Field):
            for tag, text in _field_texts(part, value, where).items():
                target = out.header if tag[0] == 1 else record
                target[tag[1]] = text
        elif isinstance(part, Group):
            _write(part.parts, value, where, out)
        elif isinstance(part, Nested):
            out.records.append((where, {}))
            _write(part.parts, value, where, out)
        else:
            _write_images(part, value, out)


def _write_images(part: Images, value: Mapping[str, Any], out: _Out) -> None:
    code = part.codes.get(str(value.get(part.coded.key)), "")
    key = str(value.get(part.image_key, ""))
    for position in image.finger_positions(int(value.get(part.count_key, 0))):
        made = image.impression(key, position)
        fields: dict[int, str | bytes] = {part.coded.tag[1]: code, 4: str(position)}
        fields |= {6: str(made.width), 7: str(made.height), DATA: made.data}
        if out.image_type == 4:  # ISR 0 (19.69 ppmm), GCA 1 (WSQ) or 0 (none)
            fields |= {5: "0", 8: "1" if made.wsq else "0"}
        else:
            fields |= _IMAGE_HEADER
            fields |= {4: out.header.get(8, ""), 5: out.header.get(5, "")}
            fields |= {11: "WSQ20" if made.wsq else "NONE", 13: str(position)}
        out.images.append(fields)


def encode(doc: Mapping[str, Any], kind: str | None = None, *, image_type: int = 14) -> bytes:
    """The EBTS transaction of `doc` (a message of `kind`, by default the kind its TOT names),
    its prints as Type-14 records, or binary Type-4 ones (`image_type` 4).

    The document is written as it is: validate it first (`schemas.validate`) when in doubt.
    Raises ValueError for a value no EBTS field can hold.
    """
    if image_type not in IMAGE_TYPES:
        raise ValueError(f"prints go as Type-4 or Type-14 records, not Type-{image_type}")
    plan = layout(kind or kind_of(doc))
    out = _Out({4: plan.tot}, [("$", {})], [], image_type)
    _write(plan.parts, doc, "$", out)
    for number, key in plan.fill.items():
        out.header.setdefault(number, str(doc.get(key, "")))
    return encode_records(Record(1, out.header), _numbered(plan, out))


def request_body(doc: Any, kind: str | None = None) -> tuple[bytes, dict[str, str]] | None:
    """`doc` as the body and headers of an HTTP request on the EBTS wire, or None when it cannot
    be written as a transaction (a document broken on purpose then goes as JSON)."""
    try:
        data = encode(doc, kind)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return data, {"content-type": MEDIA_TYPE}


def as_sent(body: str) -> tuple[bytes, str]:
    """A JSON `body` as sent on the EBTS wire, and its media type: encoded. A body that is not
    JSON goes as it is, the unreadable transaction it stands for (a fault injected on purpose);
    a JSON document no layout fits goes as JSON."""
    try:
        document = json.loads(body)
    except ValueError:
        return body.encode(), MEDIA_TYPE
    found = request_body(document)
    return (found[0], MEDIA_TYPE) if found else (body.encode(), "application/json")


def _numbered(plan: Layout, out: _Out) -> list[Record]:
    principal = [fields for role, fields in out.records if role == plan.principal]
    others = [
        fields for role, fields in out.records if role != plan.principal and (role != "$" or fields)
    ]
    found = [Record(2, f) for f in principal + others]
    found += [Record(out.image_type, f) for f in out.images]
    for idc, record in enumerate(found):
        record.fields[2] = f"{idc:02d}"
    return found


# --- decoding ---------------------------------------------------------------------------------


class _Source(NamedTuple):
    number: int
    fields: Mapping[int, str | bytes]


class _In(NamedTuple):
    header: _Source
    roles: dict[str, _Source]
    images: list[_Source]
    problems: list[Problem]


def _scalar_value(text: str, scalar: Scalar) -> Any:
    if "integer" in scalar.types and _INTEGER.fullmatch(text):
        return int(text)
    if "boolean" in scalar.types and text in ("Y", "N"):
        return text == "Y"
    if "string" in scalar.types:
        compact = _COMPACT.fullmatch(text) if scalar.gmt else None
        if compact:
            d = compact.groups()
            return f"{d[0]}-{d[1]}-{d[2]}T{d[3]}:{d[4]}:{d[5]}Z"
        return text
    kinds = " or ".join(sorted(scalar.types - {"null"}))
    raise ValueError(f"{text[:40]!r} is not a {kinds}")


def _subfield_value(field: Field, text: str, beside: Mapping[tuple[int, int], str]) -> Any:
    if field.scalar is not None:
        decoded = {code: value for value, code in field.codes.items()}
        return decoded.get(text) or _scalar_value(text, field.scalar)
    items = {t: sub.split(US) for t, sub in [(field.tag, text), *beside.items()]}
    found = {}
    for it in field.items:
        mine = items.get(it.tag or field.tag, [])
        if it.position <= len(mine) and mine[it.position - 1]:
            found[it.key] = _scalar_value(mine[it.position - 1], it.scalar)
    return found


def _read_field(field: Field, source: _Source | None, found: _In) -> tuple[bool, Any]:
    raw = source.fields.get(field.tag[1]) if source is not None else None
    tag = f"{field.tag[0]}.{field.tag[1]:03d}"
    if isinstance(raw, bytes):
        assert source is not None
        text = f"{tag} {field.mnemonic} is binary"
        found.problems.append(Problem("E0002", source.number, tag, text))
        return False, None
    if not raw:
        if field.required and field.repeat:
            return True, []
        if field.required and field.scalar is not None and "null" in field.scalar.types:
            return True, None
        return False, None
    assert source is not None
    subs = raw.split(RS) if field.repeat else [raw]
    beside: dict[tuple[int, int], list[str]] = {}
    for it in field.items:
        other = source.fields.get(it.tag[1]) if it.tag is not None else None
        if it.tag is not None and isinstance(other, str):
            beside[it.tag] = other.split(RS) if field.repeat else [other]
    try:
        values = [
            _subfield_value(field, sub, {t: v[i] for t, v in beside.items() if i < len(v)})
            for i, sub in enumerate(subs)
        ]
    except ValueError as exc:
        text = f"{tag} {field.mnemonic}: {exc}"
        found.problems.append(Problem("E0002", source.number, tag, text))
        return False, None
    return True, values if field.repeat else values[0]


def _read(parts: tuple[Part, ...], source: _Source | None, path: str, found: _In) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for part in parts:
        where = f"{path}.{part.key}"
        if isinstance(part, Field):
            present, value = _read_field(part, found.header if part.tag[0] == 1 else source, found)
            if present:
                doc[part.key] = value
        elif isinstance(part, Group):
            inner = _read(part.parts, source, where, found)
            if part.required or (inner and _holds(part.parts, source, found)):
                doc[part.key] = inner
        elif isinstance(part, Nested):
            if where in found.roles:
                doc[part.key] = _read(part.parts, found.roles[where], where, found)
        elif found.images:
            doc[part.key] = _read_images(part, found)
    return doc


def _holds(parts: tuple[Part, ...], source: _Source | None, found: _In) -> bool:
    """Whether the records hold a field of `parts` (a group's defaults alone are no group)."""
    for field in tags(parts):
        holder = found.header if field.tag[0] == 1 else source
        if holder is not None and field.tag[1] in holder.fields:
            return True
    return False


def _read_images(part: Images, found: _In) -> dict[str, Any]:
    codes = {code: value for value, code in part.codes.items()}
    first = found.images[0].fields.get(part.coded.tag[1])
    datas = [s.fields.get(DATA) for s in found.images]
    return {
        part.coded.key: codes.get(first if isinstance(first, str) else "", "rolled-ten-print"),
        part.count_key: len(found.images),
        part.image_key: image.key_of([d for d in datas if isinstance(d, bytes)]),
    }


def _roles(parts: tuple[Part, ...], path: str) -> list[str]:
    """The JSON paths of the Type-2 records a layout writes, in the order written."""
    found: list[str] = []
    for part in parts:
        where = f"{path}.{part.key}"
        if isinstance(part, Nested):
            found += [where, *_roles(part.parts, where)]
        elif isinstance(part, Group):
            found += _roles(part.parts, where)
    return found


def _sources(records: list[Record], plan: Layout, problems: list[Problem]) -> _In:
    roles: dict[str, _Source] = {}
    images = []
    takes_images = any(isinstance(part, Images) for part in plan.parts)
    order = [plan.principal] + [r for r in _roles(plan.parts, "$") if r != plan.principal]
    for index, record in enumerate(records[1:], start=2):
        if record.type in IMAGE_TYPES and takes_images:
            images.append(_Source(index, record.fields))
        elif record.type == 2:
            if len(roles) == len(order):
                text = f"Type-2 record {index} is one more than a {plan.tot} carries"
                problems.append(Problem("H0003", index, "2.001", text))
                continue
            roles[order[len(roles)]] = _Source(index, record.fields)
        elif record.type in IMAGE_TYPES or record.type in BINARY_TYPES:
            text = f"Type-{record.type} is not accepted in a {plan.tot}"
            taken = "Type-4 or Type-14" if takes_images else "no image record"
            tag = f"{record.type}.001"
            problems.append(Problem("E0002", index, tag, f"{text} (it takes {taken})"))
    return _In(_Source(1, records[0].fields), roles, images, problems)


class Decoded(NamedTuple):
    """A transaction read: its message kind, JSON document, the warnings about what was
    tolerated in it (`wire.ansi_nist.read_records`), and what it carried that the document does
    not model (`unmodelled`: each field as received, ``{"field": "$.records[N].R.NNN", "value"}``;
    a binary DATA field by its size and SHA-256)."""

    kind: str
    document: dict[str, Any]
    warnings: list[Problem]
    unmodelled: list[dict[str, str]]


_BOOKKEEPING = {1: {1, 2, 3, 11, 12, 13, 15}, 2: {1, 2}}
"""Fields the encoding itself accounts for: LEN, VER, CNT, NSR, NTR, DOM, DCS; LEN, IDC."""
_VALUE_LIMIT = 2000


def _unmodelled(records: list[Record], plan: Layout) -> list[dict[str, str]]:
    known = {1: set(_BOOKKEEPING[1]) | set(plan.fill), 2: set(_BOOKKEEPING[2])}
    for field in tags(plan.parts):
        for tag in [field.tag, *(it.tag for it in field.items if it.tag is not None)]:
            known.setdefault(tag[0], set()).add(tag[1])
    takes_images = any(isinstance(part, Images) for part in plan.parts)
    found = []
    for index, record in enumerate(records, start=1):
        if record.type in IMAGE_TYPES and takes_images:
            continue
        for number, value in record.fields.items():
            if number in known.get(record.type, ()):
                continue
            if isinstance(value, bytes):
                digest = hashlib.sha256(value).hexdigest()
                value = f"{len(value)} bytes, SHA-256 {digest}"
            where = f"$.records[{index}].{record.type}.{number:03d}"
            found.append({"field": where, "value": value[:_VALUE_LIMIT]})
    return found


def read(data: bytes) -> Decoded:
    """The message kind, JSON document and warnings of an encoded transaction.

    Raises `WireError` (only) when the file cannot be read: each problem names record and field.
    The document is not validated here: that is the schemas' job, as for any JSON document.
    """
    records, warnings = read_records(data)
    tot = records[0].fields.get(4)
    if tot not in by_tot():
        known = ", ".join(by_tot())
        problem = Problem("H0002", 1, "1.004", f"1.004 TOT {tot!r} is not one of {known}")
        raise WireError.about([problem], records)
    plan = layout(by_tot()[str(tot)])
    found = _sources(records, plan, [])
    doc = _read(plan.parts, found.roles.get("$"), "$", found)
    if found.problems:
        raise WireError.about(found.problems, records)
    return Decoded(plan.name, doc, warnings, _unmodelled(records, plan))


def decode(data: bytes) -> tuple[str, dict[str, Any]]:
    """The message kind and JSON document of an encoded transaction (`read` without warnings).

    Raises `WireError` (only) when the file cannot be read: each problem names record and field.
    """
    found = read(data)
    return found.kind, found.document
