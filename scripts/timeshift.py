"""Run a command with the wall clock moved far from today: the guard that no test depends on the
day it runs.

Every Python process the command starts (pytest, its xdist workers, the servers and suites the
tests start in turn) imports `scripts/timeshift_site/sitecustomize.py` first, through
`PYTHONPATH`, and moves its wall clock (`time.time`, `datetime.now`, `date.today`, `gmtime`,
`CLOCK_REALTIME`) by the same offset with `time-machine`; the monotonic clocks that timeouts,
sleeps and the event loop run on are left alone, and so is SQLite's own clock (`'now'` in SQL,
which the ledger stamps its rows' wall times with). The default target is the first 29 February at
least 400 days from now, 09:00 UTC: far from today and on a leap day, in one run.

    python scripts/timeshift.py [--at 2028-02-29T09:00:00Z | --days 400] -- pytest tests/...
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

SITE = Path(__file__).resolve().parent / "timeshift_site"
"""The folder whose `sitecustomize` moves each process's clock (it reads `INTEROP_TIMESHIFT`)."""


_UNREWRITTEN = (
    "'-Wignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning'"
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
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--at", help="the instant to move the clock to (ISO 8601 with an offset)")
    when.add_argument("--days", type=int, help="move the clock this many days ahead instead")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("the command to run is missing (give it after --)")
    now = datetime.now(UTC)
    if args.at:
        target = datetime.fromisoformat(args.at.replace("Z", "+00:00"))
        if target.tzinfo is None:
            parser.error(f"--at {args.at}: give the instant with its offset (e.g. Z)")
    elif args.days is not None:
        target = now + timedelta(days=args.days)
    else:
        target = leap_day_after(now, 400)
    # run from a command already moved (the guard's own test), the offset is from the real clock
    moved = float(os.environ.get("INTEROP_TIMESHIFT") or 0)
    offset = (target - now).total_seconds() + moved
    print(f"timeshift: wall clock moved to {target.isoformat()} ({offset:+.0f} s)", flush=True)
    path = os.pathsep.join(filter(None, [str(SITE), os.environ.get("PYTHONPATH")]))
    # pytest would rewrite time-machine's plugin, which the sitecustomize has already imported.
    addopts = " ".join(filter(None, [os.environ.get("PYTEST_ADDOPTS"), _UNREWRITTEN]))
    env = dict(
        os.environ, PYTHONPATH=path, INTEROP_TIMESHIFT=f"{offset:.6f}", PYTEST_ADDOPTS=addopts
    )
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    sys.exit(main())
