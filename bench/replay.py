"""A state's bookings end to end: `interop replay` through the reference SIB into the mocks.

Prints the replay's own lines (Figure 1 from the ledger beside the briefing's ratios), then the
figures: wall time, bookings per second, lost, and the CPU all its processes (the replay, the
reference SIB, the mocks) spent per booking, with the rate that CPU allows on this machine's cores.

    python bench/replay.py [--submissions 30000] [--year] [--days 365] [--nlets-share 0.25]

30,000 bookings by default (the CPU per booking of each process: the replay prints it), the
year with `--year` (New York's 1,104,840: its wall time and lost count are what matter there).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.replay import NEW_YORK_YEAR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=30_000)
    parser.add_argument("--year", action="store_true", help="New York's year of bookings")
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--nlets-share", type=float, help="as `interop replay --nlets-share`")
    args = parser.parse_args()
    if args.year:
        args.submissions = NEW_YORK_YEAR
    print(f"\n3. interop replay: {args.submissions:,} bookings over {args.days:g} virtual days")
    command = [sys.executable, "-m", "interop", "replay"]
    command += ["--submissions", str(args.submissions), "--days", f"{args.days:g}"]
    if args.nlets_share is not None:
        command += ["--nlets-share", f"{args.nlets_share:g}"]
    began = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.monotonic() - began
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = done.stdout.splitlines()
    start = next((n for n, line in enumerate(lines) if line.startswith("replay:")), len(lines))
    print("\n".join("   " + line for line in lines[start:]))
    if done.returncode not in (0, 1):
        print(done.stderr[-2000:])
    found = re.search(r"lost (\d+)", "\n".join(lines[start:]))
    each = re.search(r"CPU per booking mocks ([\d.]+) ms, reference SIB ([\d.]+) ms", done.stdout)
    if each:
        print(f"   CPU per booking: mocks {each.group(1)} ms (with the driver's: target 0.8),")
        print(f"                    reference SIB {each.group(2)} ms (target 0.5)")
    cpu = (used.ru_utime + used.ru_stime) / max(1, args.submissions)
    cores = os.cpu_count() or 1
    print(f"   wall            {wall:.0f} s ({args.submissions / wall:,.0f} bookings/s)")
    print(f"   lost            {found.group(1) if found else '?'} (target 0)")
    print(f"   CPU per booking {cpu * 1000:.2f} ms, all processes: at most")
    print(f"                   {cores / cpu:,.0f} bookings/s on {cores} cores", end="")
    print(f" (a year in {NEW_YORK_YEAR * cpu / cores / 60:.0f} min; target 10 min)")


if __name__ == "__main__":
    main()
