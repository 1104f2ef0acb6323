"""`interop replay`: a state's year of bookings through a SIB into the mocks, end to end.

The command's arguments; the replay itself is `conformance.replay`.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any, TextIO

from conformance.replay import NEW_YORK_YEAR, replay

__all__ = ["add_command"]


def add_command(subparsers: Any) -> None:
    """Register `interop replay` (its parser and handler) on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "replay",
        help="a state's year of bookings through a SIB into the mocks; Figure 1 metrics",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--submissions",
        type=int,
        default=NEW_YORK_YEAR,
        help="bookings to replay (default: New York's year in the briefing, %(default)s)",
    )
    parser.add_argument(
        "--days", type=float, default=365.0, help="the virtual span (default: %(default)s)"
    )
    parser.add_argument(
        "--scale",
        type=float,
        help="run the mocks on a scaled clock, this many virtual seconds per wall second, and book"
        " on it (bookings fall behind when the SIB is slower); default: a manual clock the replay"
        " moves on slice by slice, so virtual time follows the bookings at the SIB's own pace",
    )
    parser.add_argument(
        "--slice",
        type=float,
        default=6 * 3600.0,
        help="manual clock: virtual seconds of bookings sent before the clock moves on"
        " (default: %(default)s)",
    )
    parser.add_argument(
        "--state", default="NY", help="the NCIC state code of the LEAs (default: %(default)s)"
    )
    parser.add_argument("--sut-url", help="your SIB (default: the reference SIB, started here)")
    parser.add_argument("--ledger", help="the mocks' ledger file (default: a temporary one)")
    parser.add_argument(
        "--nlets-share",
        type=float,
        default=0.25,
        help="share of bookings whose LEA queries LESC by name through NLETS after a no-match IDR"
        " (ours, the briefing gives none; default: %(default)s)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=64,
        help="bookings in flight at once (default: %(default)s)",
    )
    parser.set_defaults(run=_cmd_replay)


def _cmd_replay(args: argparse.Namespace, out: TextIO) -> int:
    with tempfile.TemporaryDirectory() as folder:
        ledger = Path(args.ledger or Path(folder) / "replay.sqlite3")
        result = replay(args, Path(folder), ledger, out)
    return 0 if result["lost"] == 0 else 1
