"""`interop convert`: a message between JSON and EBTS (the traditional encoding), both ways.

`add_command(subparsers)` adds `convert` and, when the `validate` and `example` commands are
already there, teaches them the wire: `validate` reads encoded files too, `example` takes
``--format ebts``. A file is taken as encoded when it starts with ``1.001:``, as JSON otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import schemas
from wire import is_encoded
from wire.ansi_nist import WireError
from wire.codec import decode, encode, kind_of
from wire.layout import by_tot

__all__ = ["add_command", "convert", "read_input", "write_output"]


def read_input(name: str) -> bytes:
    """The bytes of file `name`, or of standard input for ``-``."""
    if name == "-":
        return sys.stdin.buffer.read()
    return Path(name).read_bytes()


def write_output(data: bytes, output: str | None, out: TextIO) -> None:
    """Write `data` to the file `output`, or (None or ``-``) as bytes to the stream `out`."""
    if output and output != "-":
        Path(output).write_bytes(data)
        return
    buffer: BinaryIO | None = getattr(out, "buffer", None)
    if buffer is not None:
        out.flush()
        buffer.write(data)
        buffer.flush()
    else:
        out.write(data.decode("latin-1"))


def convert(data: bytes, to: str, kind: str | None = None) -> bytes:
    """`data` (an encoded transaction or a JSON document) as EBTS (`to` "ebts") or JSON.

    A JSON document is validated before it is encoded; `kind` names its schema when it has no
    Type-1 TOT (a booking). Raises `WireError` or `schemas.SchemaViolation`.
    """
    if is_encoded(data):
        found, document = decode(data)
    else:
        document = json.loads(data)
        found = kind or _kind_for(document)
    schemas.validate(found, document)
    if to == "ebts":
        return encode(document, found)
    return (json.dumps(document, indent=2) + "\n").encode()


def _kind_for(document: Any) -> str:
    if isinstance(document, dict) and "type1" in document:
        return kind_of(document)
    for kind in by_tot().values():
        if not schemas.problems(kind, document):
            return kind
    raise ValueError("no $.type1.tot and no message kind fits the document; give --kind")


def _cmd_convert(args: argparse.Namespace, out: TextIO) -> int:
    try:
        data = read_input(args.file)
        write_output(convert(data, args.to, args.kind), args.output, out)
    except WireError as error:
        print(f"FAIL {args.file}: not a readable EBTS transaction", file=sys.stderr)
        for problem in error.problems:
            print(f"     {problem.code} {problem}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"FAIL {args.file}: {exc}", file=sys.stderr)
        return 1
    return 0


def add_command(subparsers: Any) -> None:
    """Add `convert`."""
    convert_ = subparsers.add_parser(
        "convert",
        help="convert a message between JSON and EBTS (ANSI/NIST-ITL traditional encoding)",
        description="Read FILE (or - for stdin), validate it, write it as --to (stdout or -o).",
    )
    convert_.add_argument("file", metavar="FILE", help="a JSON document or an encoded file; -")
    convert_.add_argument("--to", choices=["ebts", "json"], required=True, help="the output")
    convert_.add_argument("-o", "--output", help="write here instead of standard output")
    kinds = sorted(by_tot().values())
    convert_.add_argument("--kind", choices=kinds, help="the schema of a JSON without a TOT")
    convert_.set_defaults(run=_cmd_convert)
