"""Benchmark of the EBTS wire: encoding and decoding each message kind, in process.

Prints, per message kind, the median over `--repeat` runs of the time to encode and to decode one
transaction (µs) and the size of the file, for documents drawn from the seeded Synthesizer.

    python bench/ebts.py [--documents 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protocol.ebts import dro_ori
from synthetic import Synthesizer
from wire.codec import decode, encode


def _documents(n: int) -> dict[str, list[tuple[dict[str, Any], str | None]]]:
    synth = Synthesizer(11)
    when = datetime(2026, 11, 25, 12, tzinfo=UTC)
    out: dict[str, list[tuple[dict[str, Any], str | None]]] = {}
    for _ in range(n):
        booking = synth.booking("NC0920000", doa=when.date())
        car = synth.car(booking, gmt=when)
        found = synth.encounters(booking["person"], 3)
        iar = synth.determination(booking["person"], dro=dro_ori("NC"))
        later = when + timedelta(hours=2)
        for kind, doc in (
            ("booking", booking),
            ("car", car),
            ("sre", synth.sre(car, srf="I", gmt=later)),
            ("idr", synth.idr(car, gmt=later, encounters=found, iar=iar)),
        ):
            out.setdefault(kind, []).append((doc, "booking" if kind == "booking" else None))
    return out


def _time(documents: list[tuple[dict[str, Any], str | None]]) -> tuple[float, float, int]:
    began = time.perf_counter()
    files = [encode(doc, kind) for doc, kind in documents]
    encoded = time.perf_counter() - began
    began = time.perf_counter()
    for data in files:
        decode(data)
    decoded = time.perf_counter() - began
    n = len(documents)
    return encoded / n * 1e6, decoded / n * 1e6, int(statistics.median(len(f) for f in files))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for kind, documents in _documents(args.documents).items():
        runs = [_time(documents) for _ in range(args.repeat)]
        enc = statistics.median(r[0] for r in runs)
        dec = statistics.median(r[1] for r in runs)
        print(f"{kind:8} encode {enc:7.1f} µs  decode {dec:7.1f} µs  file {runs[0][2]:6d} bytes")


if __name__ == "__main__":
    main()
