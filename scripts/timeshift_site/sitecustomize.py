"""Imported first by every Python process `scripts/timeshift.py` starts: moves the wall clock by
`INTEROP_TIMESHIFT` seconds (time-machine, ticking), leaves the monotonic clocks alone."""

from __future__ import annotations

import os

_OFFSET = os.environ.get("INTEROP_TIMESHIFT")
if _OFFSET:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_OFFSET), tick=True).start()
