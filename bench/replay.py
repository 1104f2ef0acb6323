"""A state's bookings end to end: `interop replay` through the reference SIB into the mocks.

Prints the replay's own lines (Figure 1 from the ledger beside the briefing's ratios), then the
figures: wall time, bookings per second, lost, the CPU per booking of each process (the mocks, the
replay's driver, the reference SIB; the harness is the mocks and the driver) and the CPU all of
them spent per booking, with the rate that CPU allows on this machine's cores.

    python bench/replay.py [--submissions 30000] [--repeat 1] [--year] [--days 365]
                           [--nlets-share 0.25]

30,000 bookings by default (the CPU per booking of each process), the year with `--year` (New
York's 1,104,840: its wall time and lost count are what matter there). `--repeat N` runs it N
times and prints the medians too, with the machine's load before each run.

`tox -e bench` runs it as `bench/replay.py --tox {posargs}`: of tox's arguments (bench/load.py's)
it takes only `--year`, and then runs the 30,000 bookings first and the year after them.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.replay import NEW_YORK_YEAR

_EACH = re.compile(r"CPU per booking mocks ([\d.]+) ms, reference SIB ([\d.]+) ms, replay ([\d.]+)")
_TARGETS = {"harness": 0.8, "reference SIB": 0.5}


def run(submissions: int, args: argparse.Namespace) -> dict[str, float]:
    """One replay of `submissions` bookings, its lines and figures printed; the figures."""
    print(f"\n3. interop replay: {submissions:,} bookings over {args.days:g} virtual days")
    print(f"   load before: {_load()}")
    command = [sys.executable, "-m", "interop", "replay"]
    command += ["--submissions", str(submissions), "--days", f"{args.days:g}"]
    if args.nlets_share is not None:
        command += ["--nlets-share", f"{args.nlets_share:g}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    figures = {"wall": wall, "lost": float(found.group(1)) if found else float("nan")}
    each = _EACH.search(done.stdout)
    if each:
        mocks, sib, driver = (float(each.group(n)) for n in (1, 2, 3))
        figures |= {"mocks": mocks, "driver": driver, "harness": mocks + driver}
        figures["reference SIB"] = sib
        print(f"   CPU per booking: mocks {mocks:.2f} ms + replay driver {driver:.2f} ms")
        print(f"                    = harness {mocks + driver:.2f} ms (target 0.8),")
        print(f"                    reference SIB {sib:.2f} ms (target 0.5)")
    spent = used.ru_utime + used.ru_stime - before.ru_utime - before.ru_stime
    cpu = spent / max(1, submissions)
    figures["all"] = cpu * 1000
    cores = os.cpu_count() or 1
    print(f"   wall            {wall:.0f} s ({submissions / wall:,.0f} bookings/s)")
    print(f"   lost            {found.group(1) if found else '?'} (target 0)")
    print(f"   CPU per booking {cpu * 1000:.2f} ms, all processes: at most")
    print(f"                   {cores / cpu:,.0f} bookings/s on {cores} cores", end="")
    print(f" (a year in {NEW_YORK_YEAR * cpu / cores / 60:.0f} min; target 20 min)")
    return figures


def _load() -> str:
    """The machine's load averages (1, 5, 15 minutes), as `uptime` shows them."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def _medians(runs: list[dict[str, float]]) -> None:
    print(f"\n   median of {len(runs)} runs:")
    for key in ("mocks", "driver", "harness", "reference SIB", "all", "wall", "lost"):
        values = [r[key] for r in runs if key in r]
        if not values:
            continue
        target = f" (target {_TARGETS[key]})" if key in _TARGETS else ""
        unit = " s" if key == "wall" else "" if key == "lost" else " ms per booking"
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"   {key:15s} {statistics.median(values):.2f}{unit}{target}  [{shown}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--year", action="store_true", help="New York's year of bookings")
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--nlets-share", type=float, help="as `interop replay --nlets-share`")
    parser.add_argument(
        "--tox", action="store_true", help="tox's arguments: only --year is taken (see above)"
    )
    args, rest = parser.parse_known_args()
    if args.tox:  # the rest is bench/load.py's; the 30,000 bookings, then the year if asked
        year = args.year
        args = parser.parse_args([])
        run(args.submissions, args)
        if year:
            run(NEW_YORK_YEAR, args)
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    submissions = NEW_YORK_YEAR if args.year else args.submissions
    runs = [run(submissions, args) for _ in range(max(1, args.repeat))]
    if len(runs) > 1:
        _medians(runs)


if __name__ == "__main__":
    main()
