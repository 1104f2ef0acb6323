"""ANSI/NIST-ITL 1-2011 traditional encoding: records of tagged fields, as bytes and back.

What this module covers of the standard (and nothing more):

* the traditional encoding's separators: records end with FS (0x1C), fields with GS (0x1D),
  subfields are separated by RS (0x1E) and information items by US (0x1F);
* tagged-field records with `R.NNN:` tags, `R.001 LEN` first (the record's length in bytes, FS
  included), `R.002 IDC` second for every record but Type-1, the rest in ascending field order;
* a binary `R.999` DATA field, last in its record and delimited by LEN (as in Type-14);
* the Type-1 bookkeeping: `1.002 VER` (0500), `1.003 CNT` computed from the records that follow,
  `1.011 NSR` / `1.012 NTR` (19.69 pixels per mm with image records, else 00.00) and `1.013 DOM`
  (NORAM); the other Type-1 fields (TOT, DAT, PRY, DAI, ORI, TCN, TCR, GMT) are the caller's;
* text as UTF-8 (ASCII is a subset of it); `1.015 DCS` is written only when a value is not ASCII.

Not covered: the binary Type-3 to Type-8 records, the XML encoding, and field content rules beyond
the header (those are the schemas'). Bad input never raises anything but `WireError`, whose
problems name the record and the field: ready to become the entries of an ERRT.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "DATA",
    "FS",
    "GS",
    "RS",
    "US",
    "VERSION",
    "Problem",
    "Record",
    "WireError",
    "encode_records",
    "parse_records",
]

FS = "\x1c"
"""File separator: ends each record."""
GS = "\x1d"
"""Group separator: ends each field."""
RS = "\x1e"
"""Record separator: between the subfields of a field."""
US = "\x1f"
"""Unit separator: between the information items of a subfield."""
DATA = 999
"""Field number of a binary DATA field (the last of its record)."""
VERSION = "0500"
"""1.002 VER of ANSI/NIST-ITL 1-2011."""

_FS, _GS = FS.encode(), GS.encode()
_TAG = re.compile(rb"(\d{1,2})\.(\d{1,9}):")
_EMBEDDED_TAG = re.compile(r"(\d{1,2})\.(\d{3,9}):")
_MANDATORY_TYPE1 = (
    (2, "VER"), (3, "CNT"), (4, "TOT"), (5, "DAT"), (7, "DAI"), (8, "ORI"), (9, "TCN"),
)  # fmt: skip


class Problem(NamedTuple):
    """One thing wrong with an encoded file, naming the record (1-based) and the field."""

    code: str
    record: int
    tag: str
    text: str

    @property
    def field(self) -> str:
        """Where, as a path an ERRT's `field` can carry: `$.records[N]` and the field tag."""
        where = f"$.records[{self.record}]" if self.record else "$"
        return f"{where}.{self.tag}" if self.tag else where

    def errt(self) -> dict[str, str]:
        """This problem as one entry of an ERRT's `msg` (code, field, text)."""
        return {"code": self.code, "field": self.field, "text": self.text[:500]}

    def __str__(self) -> str:
        return f"{self.field}: {self.text}"


class WireError(ValueError):
    """An encoded file that cannot be read; `problems` says where and why."""

    def __init__(self, problems: list[Problem], tcn: str | None = None) -> None:
        self.problems = problems
        self.tcn = tcn
        super().__init__("; ".join(str(p) for p in problems))


class Record(NamedTuple):
    """One record: its type and its fields by number (text, or bytes for DATA); no LEN."""

    type: int
    fields: dict[int, str | bytes]


def _tag(rtype: int, number: int) -> str:
    return f"{rtype}.{number:03d}"


def _field_bytes(rtype: int, number: int, value: str | bytes) -> bytes:
    data = value if isinstance(value, bytes) else value.encode()
    return _tag(rtype, number).encode() + b":" + data


def _with_len(rtype: int, rest: list[bytes]) -> bytes:
    body = b"".join(_GS + f for f in rest) + _FS
    prefix = _tag(rtype, 1).encode() + b":"
    length = len(prefix) + len(body)
    while len(prefix) + len(str(length)) + len(body) != length:
        length = len(prefix) + len(str(length)) + len(body)
    return prefix + str(length).encode() + body


def _ordered(record: Record) -> list[bytes]:
    numbers = sorted(n for n in record.fields if n != 1)
    if record.type != 1 and 2 in numbers:
        numbers.remove(2)
        numbers.insert(0, 2)
    if DATA in numbers:
        numbers.remove(DATA)
        numbers.append(DATA)
    return [_field_bytes(record.type, n, record.fields[n]) for n in numbers]


def _idc(record: Record) -> str:
    value = record.fields.get(2, "0")
    return value if isinstance(value, str) else value.decode()


def encode_records(header: Record, others: Iterable[Record]) -> bytes:
    """The file: the Type-1 `header` (VER and CNT filled in) and the `others`, each with LEN."""
    rest = list(others)
    counts = [f"1{US}{len(rest)}"] + [f"{r.type}{US}{_idc(r)}" for r in rest]
    fields = dict(header.fields)
    fields[2] = VERSION
    fields[3] = RS.join(counts)
    resolution = "19.69" if any(r.type != 2 for r in rest) else "00.00"
    fields.setdefault(11, resolution)
    fields.setdefault(12, resolution)
    fields.setdefault(13, f"NORAM{US}EBTS")
    texts = [v for r in (header, *rest) for v in r.fields.values() if isinstance(v, str)]
    if not all(t.isascii() for t in texts):
        fields[15] = f"3{US}UTF-8"
    out = [_with_len(1, _ordered(Record(1, fields)))]
    out.extend(_with_len(r.type, _ordered(r)) for r in rest)
    return b"".join(out)


class _Reader:
    """Reads records one by one; the first problem found stops it (positions are lost)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.index = 0

    def fail(self, code: str, tag: str, text: str) -> WireError:
        return WireError([Problem(code, self.index, tag, text)])

    def record(self) -> Record:
        self.index += 1
        start = self.pos
        found = _TAG.match(self.data, start)
        if not found or int(found[2]) != 1:
            raise self.fail("H0002", "", f"record {self.index} does not start with 'R.001:' LEN")
        rtype = int(found[1])
        tag = _tag(rtype, 1)
        stop = self._end(rtype, found.end(), tag)
        fields = self._fields(rtype, self.data[start : stop - 1])
        self.pos = stop
        return Record(rtype, fields)

    def _end(self, rtype: int, after: int, tag: str) -> int:
        data, start = self.data, self.pos
        ends = [i for i in (data.find(_GS, after), data.find(_FS, after)) if i >= 0]
        if not ends:
            raise self.fail("H0001", tag, f"record {self.index} is truncated inside {tag} LEN")
        text = data[after : min(ends)]
        if not text.isdigit():
            raise self.fail("H0002", tag, f"{tag} LEN {text[:20]!r} is not a number")
        stop = start + int(text)
        if stop <= after or stop > len(data) or data[stop - 1 : stop] != _FS:
            raise self.fail(*self._len_problem(rtype, after, int(text), tag))
        return stop

    def _len_problem(self, rtype: int, after: int, length: int, tag: str) -> tuple[str, str, str]:
        data, start = self.data, self.pos
        fs = data.find(_FS, after)
        binary = DATA in self._numbers(data[start : fs if fs >= 0 else len(data)])
        if fs < 0:
            return (
                "H0001",
                tag,
                (
                    f"record {self.index} (Type-{rtype}) is truncated: {tag} LEN says {length} "
                    f"bytes, {len(data) - start} remain and no FS ends it"
                ),
            )
        if start + length > len(data) and binary:
            return (
                "H0001",
                tag,
                (
                    f"record {self.index} (Type-{rtype}) is truncated: {tag} LEN says {length} "
                    f"bytes, {len(data) - start} remain"
                ),
            )
        return (
            "H0002",
            tag,
            (
                f"{tag} LEN says {length} bytes but record {self.index} (Type-{rtype}) ends with "
                f"its FS after {fs + 1 - start} bytes (wrong LEN, or an FS separator missing)"
            ),
        )

    @staticmethod
    def _numbers(body: bytes) -> set[int]:
        return {int(m[2]) for m in _TAG.finditer(body)}

    def _fields(self, rtype: int, body: bytes) -> dict[int, str | bytes]:
        fields: dict[int, str | bytes] = {}
        pos = 0
        while pos <= len(body):
            found = _TAG.match(body, pos)
            if not found or int(found[1]) != rtype:
                where = _tag(rtype, next(reversed(fields), 1))
                text = f"record {self.index} (Type-{rtype}): no 'R.NNN:' tag after field {where}"
                raise self.fail("H0002", where, text + " (a GS separator is missing?)")
            number = int(found[2])
            if number == DATA:
                fields[number] = body[found.end() :]
                return fields
            end = body.find(_GS, found.end())
            end = len(body) if end < 0 else end
            fields[number] = self._text(rtype, number, body[found.end() : end])
            pos = end + 1
        return fields

    def _text(self, rtype: int, number: int, raw: bytes) -> str:
        tag = _tag(rtype, number)
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise self.fail("H0002", tag, f"field {tag} is not UTF-8 text") from None
        embedded = _EMBEDDED_TAG.search(text)
        if embedded and int(embedded[1]) == rtype and int(embedded[2]) > number:
            raise self.fail(
                "H0002", tag, f"field {tag} runs into '{embedded[0]}': a GS separator is missing"
            )
        return text


def _check_header(records: list[Record]) -> list[Problem]:
    header = records[0]
    found = [
        Problem("H0001", 1, _tag(1, n), f"Type-1 field {_tag(1, n)} {name} is missing")
        for n, name in _MANDATORY_TYPE1
        if n not in header.fields
    ]
    cnt = header.fields.get(3)
    if isinstance(cnt, str):
        found.extend(_check_cnt(cnt, records))
    return found


def _check_cnt(cnt: str, records: list[Record]) -> list[Problem]:
    listed = [s.split(US) for s in cnt.split(RS)]
    actual = [["1", str(len(records) - 1)]] + [[str(r.type), _idc(r)] for r in records[1:]]
    if any(len(s) != 2 or not all(p.isdigit() for p in s) for s in listed):
        return [Problem("H0002", 1, "1.003", "1.003 CNT is not subfields of two numbers")]
    if int(listed[0][1]) != len(records) - 1 or len(listed) != len(records):
        text = f"1.003 CNT lists {int(listed[0][1])} records after Type-1 but the file has "
        return [Problem("H0003", 1, "1.003", text + str(len(records) - 1))]
    for i, (said, seen) in enumerate(zip(listed[1:], actual[1:], strict=True), start=2):
        if [int(p) for p in said] != [int(p) for p in seen]:
            text = f"1.003 CNT lists Type-{said[0]} IDC {said[1]} as record {i}, "
            return [Problem("H0003", 1, "1.003", text + f"the file has {seen[0]}/{seen[1]}")]
    return []


def _tcn(records: list[Record]) -> str | None:
    tcn = records[0].fields.get(9) if records and records[0].type == 1 else None
    return tcn if isinstance(tcn, str) else None


def parse_records(data: bytes) -> list[Record]:
    """The records of an encoded file, Type-1 first, its header checked (mandatory fields, CNT).

    Raises `WireError` naming record and field; it carries the TCN when the header was readable.
    """
    if not data:
        raise WireError([Problem("H0001", 0, "", "the file is empty: no Type-1 record")])
    reader = _Reader(data)
    records: list[Record] = []
    try:
        while reader.pos < len(data):
            records.append(reader.record())
    except WireError as error:
        raise WireError(error.problems, _tcn(records)) from None
    if records[0].type != 1:
        raise WireError([Problem("H0002", 1, "", "the first record is not a Type-1 header")])
    found = _check_header(records)
    if found:
        raise WireError(found, _tcn(records))
    return records
