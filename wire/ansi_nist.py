"""ANSI/NIST-ITL 1-2011 traditional encoding: records of tagged fields, as bytes and back.

What this module covers of the standard (and nothing more):

* the traditional encoding's separators: records end with FS (0x1C), fields with GS (0x1D),
  subfields are separated by RS (0x1E) and information items by US (0x1F);
* tagged-field records with `R.NNN:` tags, `R.001 LEN` first (the record's length in bytes, FS
  included), `R.002 IDC` second for every record but Type-1, the rest in ascending field order;
* a binary `R.999` DATA field, last in its record and delimited by LEN (as in Type-14);
* the binary records (Type-3 to Type-8) by their 4-byte LEN and 1-byte IDC, the type taken from
  1.003 CNT; the fixed 18-byte header of Type-3 to Type-6 (IMP, FGP, ISR, HLL, VLL, GCA) is read
  into fields 3 to 8 and the image into DATA, and written back the same way (Type-4 both ways);
* the Type-1 bookkeeping: `1.002 VER` (0500), `1.003 CNT` computed from the records that follow,
  `1.011 NSR` / `1.012 NTR` (19.69 pixels per mm with image records, else 00.00) and `1.013 DOM`
  (NORAM); the other Type-1 fields (TOT, DAT, PRY, DAI, ORI, TCN, TCR, GMT) are the caller's;
* text as UTF-8 (ASCII is a subset of it); `1.015 DCS` is written only when a value is not ASCII.

Tolerated where real files are sloppy, each with a warning (`read_records`): CR/LF (or other
white space) between records or at the end, bytes after the last record 1.003 CNT counts, text
in Latin-1 (1.015 DCS code 1, or non-ASCII text with no DCS that is not UTF-8), tags without
leading zeros (``1.1:``).

Not covered: the header layouts of Type-7 and Type-8 (their bytes after the IDC are DATA), the
XML encoding, and field content rules beyond the header (those are the schemas'). Bad input
never raises anything but `WireError`, whose problems name the record and the field: ready to
become the entries of an ERRT.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "BINARY_TYPES",
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
    "read_records",
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
BINARY_TYPES = frozenset({3, 4, 5, 6, 7, 8})
"""The binary record types: a 4-byte LEN and a 1-byte IDC, no tags."""
_IMAGE_HEADER = struct.Struct("!BB6BBHHB")
"""Type-3 to Type-6 after LEN: IDC, IMP, FGP (6 bytes), ISR, HLL, VLL, GCA (18 bytes with LEN)."""
_FIXED_HEADER = frozenset({3, 4, 5, 6})
_LEN = struct.Struct("!L")
_LINE_ENDS = b"\r\n\t "

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
    """An encoded file that cannot be read; `problems` says where and why; `tcn` and `ori` are
    its Type-1's 1.009 TCN and 1.008 ORI when they could be read (whom an ERRT answers)."""

    def __init__(
        self, problems: list[Problem], tcn: str | None = None, ori: str | None = None
    ) -> None:
        self.problems = problems
        self.tcn = tcn
        self.ori = ori
        super().__init__("; ".join(str(p) for p in problems))

    @classmethod
    def about(cls, problems: list[Problem], records: list[Record]) -> WireError:
        """The error of `problems` in a file whose records read so far are `records`."""
        header = records[0].fields if records and records[0].type == 1 else {}
        tcn, ori = header.get(9), header.get(8)
        return cls(
            problems, tcn if isinstance(tcn, str) else None, ori if isinstance(ori, str) else None
        )


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


def _int(record: Record, number: int, default: int) -> int:
    value = record.fields.get(number)
    text = value.decode(errors="replace") if isinstance(value, bytes) else value
    return int(text) if text is not None and text.isdigit() else default


def _binary(record: Record) -> bytes:
    """A binary record: LEN, IDC and (Type-3 to Type-6) the fixed image header, then DATA."""
    data = record.fields.get(DATA, b"")
    image = data if isinstance(data, bytes) else data.encode()
    idc = _int(record, 2, 0)
    if record.type in _FIXED_HEADER:
        text = record.fields.get(4, "")
        listed = text.split(RS) if isinstance(text, str) else []
        fgp = [int(p) for p in listed if p.isdigit()][:6] or [255]
        fgp += [255] * (6 - len(fgp))
        numbers = [_int(record, n, 0) for n in (5, 6, 7, 8)]
        head = _IMAGE_HEADER.pack(idc, _int(record, 3, 0), *fgp, *numbers)
    else:
        head = bytes([idc])
    return _LEN.pack(_LEN.size + len(head) + len(image)) + head + image


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
    out.extend(
        _binary(r) if r.type in BINARY_TYPES else _with_len(r.type, _ordered(r)) for r in rest
    )
    return b"".join(out)


_CHARSETS = {"0": "ascii", "1": "latin-1", "3": "utf-8"}
"""1.015 DCS character set index to the codec text is read with (2 UTF-16, 4 UTF-32: as UTF-8)."""
_WARNINGS = 20
"""At most this many warnings about one file are kept."""


class _Reader:
    """Reads records one by one; the first problem found stops it (positions are lost). What it
    tolerates it notes in `warnings`."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.index = 0
        self.charset: str | None = None
        self.warnings: list[Problem] = []

    def fail(self, code: str, tag: str, text: str) -> WireError:
        return WireError([Problem(code, self.index, tag, text)])

    def warn(self, tag: str, text: str, record: int | None = None) -> None:
        where = self.index if record is None else record
        if len(self.warnings) < _WARNINGS and all(w.text != text for w in self.warnings):
            self.warnings.append(Problem("W0001", where, tag, text))

    def skip_line_ends(self) -> None:
        """Skip CR, LF (and blanks) between records or at the end, with a warning."""
        start = self.pos
        while self.pos < len(self.data) and self.data[self.pos] in _LINE_ENDS:
            self.pos += 1
        if self.pos > start:
            text = (
                f"{self.pos - start} bytes of CR/LF or blanks after record {self.index} skipped "
                "(not ANSI/NIST-ITL: records follow each other with nothing between them)"
            )
            self.warn("", text)

    def binary(self, rtype: int) -> Record:
        """A binary record (type from 1.003 CNT): LEN, IDC, the fixed header, DATA."""
        self.index += 1
        data, start, tag = self.data, self.pos, _tag(rtype, 1)
        minimum = _LEN.size + (_IMAGE_HEADER.size if rtype in _FIXED_HEADER else 1)
        if start + minimum > len(data):
            text = f"record {self.index} (Type-{rtype}) is truncated: fewer than {minimum} bytes"
            raise self.fail("H0001", tag, text)
        (length,) = _LEN.unpack_from(data, start)
        if length < minimum:
            text = f"{tag} LEN says {length} bytes; a Type-{rtype} record has at least {minimum}"
            raise self.fail("H0002", tag, text)
        if start + length > len(data):
            text = (
                f"record {self.index} (Type-{rtype}) is truncated: {tag} LEN says {length} "
                f"bytes, {len(data) - start} remain"
            )
            raise self.fail("H0001", tag, text)
        body = data[start + _LEN.size : start + length]
        fields: dict[int, str | bytes] = {2: f"{body[0]:02d}"}
        if rtype in _FIXED_HEADER:
            _, imp, *rest = _IMAGE_HEADER.unpack_from(body)
            fgp, (isr, hll, vll, gca) = rest[:6], rest[6:]
            fields[3] = str(imp)
            fields[4] = RS.join(str(p) for p in fgp if p != 255) or "255"
            fields |= {5: str(isr), 6: str(hll), 7: str(vll), 8: str(gca)}
            fields[DATA] = body[_IMAGE_HEADER.size :]
        else:
            fields[DATA] = body[1:]
        self.pos = start + length
        return Record(rtype, fields)

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
        if raw.isascii():
            text = raw.decode("ascii")
        elif self.charset == "latin-1":
            text = raw.decode("latin-1")
            self.warn("1.015", "1.015 DCS declares Latin-1 (ISO 8859-1): text read as Latin-1", 1)
        else:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
                said = "1.015 DCS declares UTF-8" if self.charset else "there is no 1.015 DCS"
                self.warn(tag, f"field {tag} is not UTF-8 text ({said}): read as Latin-1")
            else:
                if self.charset is None:
                    self.warn(
                        tag, f"field {tag} is not ASCII and there is no 1.015 DCS: read as UTF-8"
                    )
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


def _number(text: str) -> int | None:
    """The value of a field of ASCII digits, else None (a damaged IDC never raises)."""
    return int(text) if text.isascii() and text.isdigit() else None


def _check_cnt(cnt: str, records: list[Record]) -> list[Problem]:
    listed = [s.split(US) for s in cnt.split(RS)]
    actual = [["1", str(len(records) - 1)]] + [[str(r.type), _idc(r)] for r in records[1:]]
    if any(len(s) != 2 or not all(_number(p) is not None for p in s) for s in listed):
        return [Problem("H0002", 1, "1.003", "1.003 CNT is not subfields of two numbers")]
    if int(listed[0][1]) != len(records) - 1 or len(listed) != len(records):
        text = f"1.003 CNT lists {int(listed[0][1])} records after Type-1 but the file has "
        return [Problem("H0003", 1, "1.003", text + str(len(records) - 1))]
    for i, (said, seen) in enumerate(zip(listed[1:], actual[1:], strict=True), start=2):
        if [_number(p) for p in said] != [_number(p) for p in seen]:
            text = f"1.003 CNT lists Type-{said[0]} IDC {said[1]} as record {i}, "
            return [Problem("H0003", 1, "1.003", text + f"the file has {seen[0]}/{seen[1]}")]
    return []


def _listed_types(header: Record) -> list[int]:
    """The record types 1.003 CNT lists after the Type-1 (what it can tell; [] if nothing)."""
    cnt = header.fields.get(3)
    if not isinstance(cnt, str):
        return []
    listed = [s.split(US)[0] for s in cnt.split(RS)[1:]]
    return [int(t) if t.isascii() and t.isdigit() else 0 for t in listed]


def _charset(header: Record) -> str | None:
    dcs = header.fields.get(15)
    if not isinstance(dcs, str):
        return None
    return _CHARSETS.get(re.split("[\x1e\x1f]", dcs)[0].strip(), "utf-8")


def read_records(data: bytes) -> tuple[list[Record], list[Problem]]:
    """The records of an encoded file, Type-1 first, its header checked (mandatory fields, CNT),
    and the warnings about what was tolerated (code W0001; see the module's documentation).

    Raises `WireError` naming record and field; it carries the TCN when the header was readable.
    """
    if not data:
        raise WireError([Problem("H0001", 0, "", "the file is empty: no Type-1 record")])
    reader = _Reader(data)
    records: list[Record] = []
    try:
        reader.skip_line_ends()
        records.append(reader.record())
        if records[0].type != 1:
            raise WireError([Problem("H0002", 1, "", "the first record is not a Type-1 header")])
        listed = _listed_types(records[0])
        reader.charset = _charset(records[0])
        while True:
            reader.skip_line_ends()
            if reader.pos >= len(data):
                break
            rtype = listed[len(records) - 1] if len(records) <= len(listed) else None
            if rtype in BINARY_TYPES and not _TAG.match(data, reader.pos):
                records.append(reader.binary(rtype))
            elif rtype is None and not _TAG.match(data, reader.pos):
                text = f"{len(data) - reader.pos} bytes after the last record 1.003 CNT counts"
                reader.warn("", text + " ignored", len(records))
                break
            else:
                records.append(reader.record())
    except WireError as error:
        raise WireError.about(error.problems, records) from None
    found = _check_header(records)
    if found:
        raise WireError.about(found, records)
    return records, reader.warnings


def parse_records(data: bytes) -> list[Record]:
    """The records of an encoded file (`read_records` without its warnings)."""
    return read_records(data)[0]
