"""The guard that no test depends on the day it runs (`tox -e timeshift`) really moves the wall
clock, in the command's children too, and leaves the monotonic clocks alone."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from scripts.timeshift import leap_day_after

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "timeshift.py"

_PROBE = """
import datetime, subprocess, sys, threading, time
print("parent", datetime.datetime.now(datetime.UTC).isoformat(), time.monotonic(), flush=True)
threading.Event().wait(0.05)
child = "import datetime; print('child', datetime.date.today())"
subprocess.run([sys.executable, "-P", "-c", child])
"""


def test_the_wall_clock_moves_in_the_command_and_its_children_and_the_monotonic_does_not() -> None:
    before = __import__("time").monotonic()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--at", "2032-02-29T09:00:00Z", "--", sys.executable, "-c",
         _PROBE],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert lines[0].startswith("timeshift: wall clock moved to 2032-02-29T09:00:00+00:00")
    _, now, monotonic = lines[1].split()
    assert datetime.fromisoformat(now).date().isoformat() == "2032-02-29"
    assert before <= float(monotonic) <= before + 60
    assert lines[2] == "child 2032-02-29"


def test_the_default_target_is_a_leap_day_far_from_today() -> None:
    assert leap_day_after(datetime(2026, 12, 5, tzinfo=UTC), 400) == datetime(
        2028, 2, 29, 9, tzinfo=UTC
    )
    assert leap_day_after(datetime(2027, 3, 1, tzinfo=UTC), 400) == datetime(
        2032, 2, 29, 9, tzinfo=UTC
    )
    assert leap_day_after(datetime(2099, 1, 1, tzinfo=UTC), 400) == datetime(
        2104, 2, 29, 9, tzinfo=UTC
    )
