"""The `interop` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import schemas

__all__ = ["main"]

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


def _cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    ok = True
    if args.examples:
        for name in schemas.NAMES:
            for i, example in enumerate(schemas.examples(name)):
                ok &= _validate_one(f"{name} example {i + 1}", name, example, out)
    for path in args.files:
        try:
            document = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            print(f"FAIL {path}: {exc}", file=out)
            ok = False
            continue
        ok &= _validate_one(path, args.schema or _schema_for(document), document, out)
    if not args.examples and not args.files:
        print("nothing to validate: give FILE... or --examples", file=out)
        return 2
    return 0 if ok else 1


def _cmd_schemas(args: argparse.Namespace, out: TextIO) -> int:
    for name in schemas.NAMES:
        print(f"{name:16} {schemas.uri(name)}  {schemas.schema(name).get('title', '')}", file=out)
    print(f"digest {schemas.digest()}", file=out)
    return 0


def _cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from mocks.scenario import Scenario, scenario_names
    from mocks.server import server
    from mocks.service import MockService

    try:
        if args.scenario is None:
            scenario = None
        elif args.scenario in scenario_names():
            scenario = Scenario.named(args.scenario)
        else:
            scenario = Scenario.from_file(args.scenario)
        service = MockService(
            clock=args.clock,
            scenario=scenario,
            ledger=args.ledger,
            callback=args.sut_callback,
            admin_token=args.admin_token or os.environ.get("INTEROP_ADMIN_TOKEN") or None,
        )
        uvicorn_server = server(service, host=args.host, port=args.port)
    except (ValueError, OSError) as exc:
        print(f"interop serve: {exc}", file=out)
        return 2
    where = args.ledger or "in memory"
    print(
        f"mock CJIS/IDENT/LESC on http://{args.host}:{args.port} "
        f"(clock {args.clock}, scenario {service.scenario.name}, ledger {where})",
        file=out,
        flush=True,
    )
    uvicorn_server.run()
    return 0


def _cmd_example(args: argparse.Namespace, out: TextIO) -> int:
    from datetime import UTC, datetime

    from protocol.synthetic import Synthesizer

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
    print(json.dumps(document, indent=2), file=out)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interop",
        description="IDENT/IAFIS Interoperability conformance harness.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser(
        "validate",
        help="validate messages against the JSON Schemas",
        description=(
            "Validate JSON messages. The schema is chosen by $.type1.tot unless --schema is given."
        ),
    )
    validate.add_argument("files", nargs="*", metavar="FILE")
    validate.add_argument("--schema", choices=schemas.NAMES, help="validate every FILE as this")
    validate.add_argument(
        "--examples", action="store_true", help="validate every example the schemas carry"
    )
    validate.set_defaults(run=_cmd_validate)
    serve = sub.add_parser(
        "serve",
        help="run the mock federal endpoints",
        description="Mock FBI CJIS (IAFIS), DHS IDENT, ICE LESC/DRO and the LEA inboxes over HTTP.",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--clock", default="realtime", help="realtime, scaled:N or manual")
    serve.add_argument("--scenario", help="a shipped scenario name or a scenario JSON file")
    serve.add_argument("--ledger", help="SQLite ledger path (default: in memory)")
    serve.add_argument("--sut-callback", help="the SIB's POST /cjis/responses URL")
    serve.add_argument("--admin-token", help="required for the admin API off loopback")
    serve.set_defaults(run=_cmd_serve)
    example = sub.add_parser(
        "example",
        help="print a synthetic document, dated today",
        description="Print a synthetic, schema-valid document (a CAR is dated today).",
    )
    example.add_argument("kind", choices=["car", "booking", "sut-profile", "scenario"])
    example.add_argument("--seed", type=int, default=0)
    example.add_argument("--state", default="NC", help="NCIC state code")
    example.add_argument("--ori", help="the booking LEA's ORI (default: a synthetic one)")
    example.set_defaults(run=_cmd_example)
    listing = sub.add_parser("schemas", help="list the schemas and their digest")
    listing.set_defaults(run=_cmd_schemas)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    code: int = args.run(args, out or sys.stdout)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
