"""The `interop` parser, built from every subcommand module, and the one top-level handler.

Problems a person can fix are raised as `CliError` and printed as one line; a reader that goes
away (`| head`) ends the command quietly; anything else is an internal error, also one line,
with the traceback only under `--debug` (or `INTEROP_DEBUG=1`).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TextIO

from .common import USAGE, CliError, Parser, UsageError, exit_codes_help

__all__ = ["COMMANDS", "main", "parser"]

COMMANDS = ("messages", "serving", "check", "demo", "report", "wire", "replay")
"""The subcommand modules of this package, in the order `interop --help` lists them. Each has
`add_command(subparsers)`, which adds its parser(s) and sets `run` to a function
`(args, out) -> exit code`; registering a new one is adding its name here (a module of this
package by its name, another by its full dotted name)."""

_INTERNAL = 5
_ENVIRONMENT = """environment:
  SUT_URL, SUT_PROFILE   defaults of interop check --sut-url and --sut-profile
  MOCKS_URL              default of the suite's --mocks-url (pytest --pyargs conformance.suite)
  INTEROP_SIGNING_KEY    the Ed25519 PEM key that signs reports (interop check, interop demo)
  INTEROP_ADMIN_TOKEN    the mocks' admin token (interop serve, interop check --mocks-url)
  INTEROP_DEBUG=1        show the traceback of an internal error (as --debug)
"""


def parser() -> Parser:
    """The whole `interop` argument parser."""
    top = Parser(
        prog="interop",
        description="IDENT/IAFIS Interoperability conformance harness: mock FBI CJIS, DHS IDENT "
        "and ICE LESC endpoints, a conformance suite run against a state's SIB, signed reports.",
        epilog=f"{_ENVIRONMENT}\n{exit_codes_help()}",
    )
    top.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    subparsers = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.{name}").add_command(subparsers)
    return top


def _quiet_stdout() -> None:
    """After a reader went away (`interop example scenario | head`), drop what is left."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code. Errors go to `out` when given, else stderr."""
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words or os.environ.get("INTEROP_DEBUG", "") not in ("", "0")
    try:
        args = parser().parse_args([w for w in words if w != "--debug"])
    except SystemExit as exc:  # --help, or a usage error already said in one line
        return exc.code if isinstance(exc.code, int) else USAGE
    stream = out or sys.stdout
    errors = out or sys.stderr
    try:
        code: int = args.run(args, stream)
        stream.flush()
    except CliError as exc:
        where = f" (see interop {args.command} --help)" if isinstance(exc, UsageError) else ""
        if str(exc):
            print(f"interop {args.command}: {exc}{where}", file=errors)
        return exc.code
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        print(f"interop {args.command}: interrupted", file=errors)
        return 130
    except Exception as exc:
        if debug:
            traceback.print_exc(file=errors)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        hint = "" if debug else " (run again with --debug to see where)"
        print(
            f"interop {args.command}: internal error: {type(exc).__name__}: {first}{hint}",
            file=errors,
        )
        return _INTERNAL
    return code
