"""`interop validate`, `interop schemas` and `interop example`: the messages themselves."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

import schemas

from .common import UsageError

__all__ = ["add_command"]

_TOT_SCHEMA = {
    "CAR": "car",
    "CPI": "cpi",
    "SRE": "sre",
    "IDR": "idr",
    "IAQ": "iaq",
    "IAR": "iar",
    "ERRT": "errt",
    "DET": "detainer",
}
_KINDS = ("car", "booking", "sut-profile", "scenario")


def _schema_for(document: Any) -> str | None:
    if isinstance(document, dict):
        header = document.get("type1")
        if isinstance(header, dict):
            return _TOT_SCHEMA.get(str(header.get("tot")))
    return None


def _validate_one(label: str, name: str | None, document: Any, out: TextIO) -> bool:
    if name is None:
        print(f"FAIL {label}: no $.type1.tot naming a message; give --schema", file=out)
        return False
    found = schemas.problems(name, document)
    if not found:
        print(f"ok   {label} ({name})", file=out)
        return True
    print(f"FAIL {label} ({name})", file=out)
    for problem in found:
        print(f"     {problem}", file=out)
    return False


def _validate_encoded(path: str, out: TextIO) -> bool:
    from wire.ansi_nist import WireError
    from wire.codec import decode

    from .wire import read_input

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
    from wire import is_encoded

    try:
        with open(path, "rb") as handle:
            return is_encoded(handle.read(64))
    except OSError:
        return False


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    ok = True
    if args.examples:
        for name in schemas.NAMES:
            for i, example in enumerate(schemas.examples(name)):
                ok &= _validate_one(f"{name} example {i + 1}", name, example, out)
    for path in args.files:
        if _is_encoded_file(path):
            ok &= _validate_encoded(path, out)
            continue
        try:
            document = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:  # UnicodeDecodeError too: binary, not JSON
            print(f"FAIL {path}: {exc}", file=out)
            ok = False
            continue
        ok &= _validate_one(path, args.schema or _schema_for(document), document, out)
    if not args.examples and not args.files:
        print("nothing to validate: give FILE... or --examples", file=out)
        return 2
    return 0 if ok else 1


def _schemas(args: argparse.Namespace, out: TextIO) -> int:
    for name in schemas.NAMES:
        print(f"{name:16} {schemas.uri(name)}  {schemas.schema(name).get('title', '')}", file=out)
    print(f"digest {schemas.digest()}", file=out)
    return 0


def _ori(value: str) -> str:
    if schemas.problems("common.json#/$defs/ori", value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ORI: two capital letters of the state, then seven capital "
            "letters or digits (e.g. NC0920000)"
        )
    return value


def _state(value: str) -> str:
    if schemas.problems("common.json#/$defs/state_code", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an NCIC state code (e.g. NC, VA)")
    return value


def _check_encodable(kind: str) -> None:
    """`--format ebts` only for a document the schemas give an EBTS record layout."""
    from wire.layout import by_tot

    encodable = [name for name in _KINDS if name in by_tot().values()]
    if kind not in encodable:
        raise UsageError(
            f"argument --format: a {kind} has no EBTS form; --format ebts is for "
            f"{' and '.join(encodable)} (give --format json for a {kind})"
        )


def _example(args: argparse.Namespace, out: TextIO) -> int:
    from datetime import UTC, datetime

    from synthetic import Synthesizer

    if args.format == "ebts":
        _check_encodable(args.kind)
    synth = Synthesizer(args.seed)
    now = datetime.now(UTC).replace(microsecond=0)
    ori = args.ori or synth.lea_ori(args.state)
    booking = synth.booking(ori, doa=now.date())
    documents = {
        "booking": lambda: booking,
        "car": lambda: synth.car(booking, tcn=synth.tcn(ori, now.date()), gmt=now),
        "sut-profile": lambda: synth.sut_profile(args.state),
        "scenario": lambda: synth.scenario(args.state),
    }
    document = documents[args.kind]()
    schemas.validate(args.kind, document)
    if args.format == "ebts":
        from wire.codec import encode

        from .wire import write_output

        write_output(encode(document, args.kind), None, out)
        return 0
    print(json.dumps(document, indent=2), file=out)
    return 0


def add_command(subparsers: Any) -> None:
    """Register `validate`, `schemas` and `example`."""
    validate = subparsers.add_parser(
        "validate",
        help="validate messages against the JSON Schemas",
        description="Validate JSON messages. The schema is chosen by $.type1.tot unless --schema "
        "is given. Encoded EBTS files are read too. Exit 0 when all are valid, 1 when one is "
        "not, 2 with nothing to validate.",
    )
    validate.add_argument("files", nargs="*", metavar="FILE", help="JSON messages to validate")
    validate.add_argument(
        "--schema",
        choices=schemas.NAMES,
        metavar="NAME",
        help=f"validate every FILE as this: {', '.join(schemas.NAMES)}",
    )
    validate.add_argument(
        "--examples", action="store_true", help="validate every example the schemas carry"
    )
    validate.set_defaults(run=_validate)
    listing = subparsers.add_parser("schemas", help="list the schemas and their digest")
    listing.set_defaults(run=_schemas)
    example = subparsers.add_parser(
        "example",
        help="print a synthetic document, dated today",
        description="Print a synthetic, schema-valid document (a CAR is dated today).",
    )
    example.add_argument("kind", choices=_KINDS, help=f"one of {', '.join(_KINDS)}")
    example.add_argument("--seed", type=int, default=0, help="the synthetic data's seed")
    example.add_argument(
        "--format",
        choices=["json", "ebts"],
        default="json",
        help="JSON, or an EBTS file in the traditional encoding",
    )
    example.add_argument("--state", default="NC", type=_state, help="NCIC state code")
    example.add_argument(
        "--ori", type=_ori, help="the booking LEA's ORI (default: a synthetic one of --state)"
    )
    example.set_defaults(run=_example)
