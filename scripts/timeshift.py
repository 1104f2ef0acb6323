"""Run a command with the wall clock moved far from today: the guard that no test depends on the
day it runs.

The command runs under Debian's libfaketime (`apt-get install faketime`) with every clock but the
monotonic one moved by the same offset, in its children too (they inherit `LD_PRELOAD` and
`FAKETIME`). The default target is the first 29 February at least 400 days from now, 09:00 UTC:
far from today and on a leap day, in one run.

    python scripts/timeshift.py [--at 2028-02-29T09:00:00Z | --days 400] -- pytest tests/...
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

LIBRARIES = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/faketime/libfaketimeMT.so.1",
)


def leap_day_after(now: datetime, days: int) -> datetime:
    """The first 29 February, 09:00 UTC, at least `days` days after `now`."""
    year = (now + timedelta(days=days)).year
    while True:
        if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
            leap = datetime(year, 2, 29, 9, tzinfo=UTC)
            if leap >= now + timedelta(days=days):
                return leap
        year += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--at", help="the instant to move the clock to (ISO 8601 with an offset)")
    when.add_argument("--days", type=int, help="move the clock this many days ahead instead")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("the command to run is missing (give it after --)")
    library = next((p for p in LIBRARIES if Path(p).exists()), None)
    if library is None:
        parser.error("libfaketime is not installed (apt-get install faketime)")
    now = datetime.now(UTC)
    if args.at:
        target = datetime.fromisoformat(args.at.replace("Z", "+00:00"))
    elif args.days is not None:
        target = now + timedelta(days=args.days)
    else:
        target = leap_day_after(now, 400)
    offset = int((target - now).total_seconds())
    print(f"timeshift: wall clock moved to {target.isoformat()} ({offset:+d} s)", flush=True)
    env = dict(
        os.environ,
        LD_PRELOAD=" ".join(filter(None, [os.environ.get("LD_PRELOAD"), library])),
        FAKETIME=f"{offset:+d}",
        FAKETIME_DONT_FAKE_MONOTONIC="1",
        FAKETIME_DONT_RESET="1",
    )
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    sys.exit(main())
