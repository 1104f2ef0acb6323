"""The `interop` commands of the EBTS wire: `convert`, and encoded files for `validate`/`example`.

`add_command(subparsers)` adds `convert` and, when the `validate` and `example` commands are
already there, teaches them the wire: `validate` reads encoded files too, `example` takes
``--format ebts``. A file is taken as encoded when it starts with ``1.001:``, as JSON otherwise.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import schemas
from wire import is_encoded
from wire.ansi_nist import WireError
from wire.codec import decode, encode, kind_of
from wire.layout import by_tot

__all__ = ["add_command", "convert", "read_input"]

_Run = Callable[[argparse.Namespace, TextIO], int]


def read_input(name: str) -> bytes:
    """The bytes of file `name`, or of standard input for ``-``."""
    if name == "-":
        return sys.stdin.buffer.read()
    return Path(name).read_bytes()


def _write(data: bytes, output: str | None, out: TextIO) -> None:
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
        _write(convert(data, args.to, args.kind), args.output, out)
    except WireError as error:
        print(f"FAIL {args.file}: not a readable EBTS transaction", file=sys.stderr)
        for problem in error.problems:
            print(f"     {problem.code} {problem}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"FAIL {args.file}: {exc}", file=sys.stderr)
        return 1
    return 0


def _validate_encoded(path: str, out: TextIO) -> bool:
    try:
        kind, document = decode(read_input(path))
    except WireError as error:
        print(f"FAIL {path} (EBTS)", file=out)
        for problem in error.problems:
            print(f"     {problem.code} {problem}", file=out)
        return False
    found = schemas.problems(kind, document)
    print(f"{'FAIL' if found else 'ok  '} {path} ({kind}, EBTS)", file=out)
    for violation in found:
        print(f"     {violation}", file=out)
    return not found


def _is_encoded_file(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return is_encoded(handle.read(64))
    except OSError:
        return False


def _wrap_validate(original: _Run) -> _Run:
    def run(args: argparse.Namespace, out: TextIO) -> int:
        files: list[str] = list(args.files)
        encoded = [f for f in files if _is_encoded_file(f)]
        if not encoded:
            return original(args, out)
        results = [_validate_encoded(path, out) for path in encoded]
        ok = all(results)
        rest = [f for f in files if f not in encoded]
        if not rest and not args.examples:
            return 0 if ok else 1
        code = original(argparse.Namespace(**{**vars(args), "files": rest}), out)
        return code if ok else max(code, 1)

    return run


def _wrap_example(original: _Run) -> _Run:
    def run(args: argparse.Namespace, out: TextIO) -> int:
        if args.format == "json":
            return original(args, out)
        text = io.StringIO()
        code = original(args, text)
        document: Any = json.loads(text.getvalue())
        _write(encode(document, args.kind), None, out)
        return code

    return run


def _demo_by_mail(args: argparse.Namespace, out: TextIO) -> int:
    from .run import DEMO_PROFILES, check, publish, results
    from .wire_stage import mail_stage

    began = time.monotonic()
    bad_total = 0
    for name in DEMO_PROFILES:
        folder = Path(args.report_dir, name)
        folder.mkdir(parents=True, exist_ok=True)
        with mail_stage(name, clock=args.clock) as profile:
            path = folder / "sut-profile.json"
            path.write_text(json.dumps(profile, indent=2))
            check(path, report_dir=folder, quiet=True)
        found = results(folder)
        publish(folder, signing_key=args.signing_key, sut_name=f"reference SIB ({name}, e-mail)")
        counts = Counter(r["outcome"] for r in found)
        bad = counts["failed"] + counts["error"]
        bad_total += bad
        print(f"{name:12} reference SIB over EBTS e-mail: {counts['passed']} passed, {bad} failed, "
              f"{counts['not-applicable']} not applicable", file=out, flush=True)  # fmt: skip
    wall = time.monotonic() - began
    print(f"demo --wire ebts-smtp: {bad_total} failed in {wall:.1f} s wall; results in "
          f"{args.report_dir}", file=out)  # fmt: skip
    return 0 if bad_total == 0 else 1


def _wrap_demo(original: _Run) -> _Run:
    def run(args: argparse.Namespace, out: TextIO) -> int:
        return original(args, out) if args.wire == "json-http" else _demo_by_mail(args, out)

    return run


def add_command(subparsers: Any) -> None:
    """Add `convert`; give `validate` encoded files, `example` ``--format ebts`` and `serve`
    ``--smtp-port`` / ``--smtp-relay``."""
    convert_ = subparsers.add_parser(
        "convert",
        help="convert a message between JSON and EBTS (ANSI/NIST-ITL traditional encoding)",
        description="Read FILE (or - for stdin), validate it, write it as --to (stdout or -o).",
    )
    convert_.add_argument("file", metavar="FILE", help="a JSON document or an encoded file; -")
    convert_.add_argument("--to", choices=["ebts", "json"], required=True)
    convert_.add_argument("-o", "--output", help="write here instead of standard output")
    kinds = sorted(by_tot().values())
    convert_.add_argument("--kind", choices=kinds, help="the schema of a JSON without a TOT")
    convert_.set_defaults(run=_cmd_convert)
    choices = subparsers.choices
    if "validate" in choices:
        validate = choices["validate"]
        validate.set_defaults(run=_wrap_validate(validate.get_default("run")))
        validate.description = (validate.description or "") + " Encoded EBTS files are read too."
    if "serve" in choices:
        serve = choices["serve"]
        serve.add_argument("--smtp-port", type=int, help="also take EBTS transactions by e-mail")
        serve.add_argument(
            "--smtp-relay",
            help="HOST:PORT to mail responses through, to the sender of the first e-mail "
            "(when no --sut-callback is given)",
        )
    if "demo" in choices:
        demo = choices["demo"]
        demo.add_argument(
            "--wire",
            choices=["json-http", "ebts-smtp"],
            default="json-http",
            help="ebts-smtp: the reference SIB sends and takes EBTS files by e-mail",
        )
        demo.set_defaults(run=_wrap_demo(demo.get_default("run")))
    if "example" in choices:
        example = choices["example"]
        example.add_argument("--format", choices=["json", "ebts"], default="json")
        example.set_defaults(run=_wrap_example(example.get_default("run")))
