"""Load from outside: our mock CJIS against Prism on the same OpenAPI document, then 1M submissions.

Prints, in one run:
  1. wrk (-t2 -c32, unique valid CARs, each TCN new) against `interop serve` on a manual clock
     (each CAR validated against its schema and ledgered; its responses planned when time moves)
     and on a realtime clock (planning within the run too), and against Prism serving our own
     `/openapi.json` (validating requests too), alternating, median of `--repeat`: req/s, p50 and
     p99 latency, and the ratios;
  2. `--submissions` (default 1,000,000) unique CARs into `interop serve` on a manual clock (every
     submission stays pending), in wrk segments: RSS of the server, ledger bytes per submission, and
     the rate of the last 10 % of submissions against the first 10 % (`--submissions 0`: skipped).

Needs `wrk` (Debian: `apt-get install wrk`) and Prism (`npm install @stoplight/prism-cli`; found
through `--prism`, `$PRISM` or PATH); says so plainly and goes on without what is missing.

    python bench/load.py [--duration 10] [--repeat 3] [--submissions 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mocks.api.openapi import openapi
from mocks.servers.server import free_port, wait_until_answering
from synthetic import Synthesizer

_LUA = """
local counter = 0
local threads = 0
tid = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function request()
  counter = counter + 1
  local tcn = string.format("B%s-%d-%010d", run, tid, counter)
  local body = string.gsub(template, "@TCN@", tcn)
  return wrk.format("POST", "/cjis/submissions", {["Content-Type"] = "application/json"}, body)
end
"""


def _script(folder: Path, run: str) -> Path:
    """A wrk script posting one synthetic CAR with a new TCN each time."""
    synth = Synthesizer(2026)
    now = datetime.now(UTC).replace(microsecond=0)
    car = synth.car(synth.booking("NC0920000", doa=now.date()), tcn="@TCN@", gmt=now)
    template = json.dumps(car)
    path = folder / f"cars-{run}.lua"
    path.write_text(f'run = "{run}"\ntemplate = [==[{template}]==]\n{_LUA}')
    return path


@contextmanager
def _process(command: list[str], ready: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until_answering(ready)
            yield child
        finally:
            child.terminate()
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _ours(folder: Path, port: int, clock: str, ledger: Path) -> Any:
    command = [sys.executable, "-m", "interop", "serve", "--port", str(port)]
    command += ["--clock", clock, "--ledger", str(ledger)]
    return _process(command, f"http://127.0.0.1:{port}/health", folder / f"serve-{port}.log")


def _prism(folder: Path, prism: str, port: int) -> Any:
    spec = folder / "openapi.json"
    spec.write_text(json.dumps(openapi()))
    command = [prism, "mock", str(spec), "--host", "127.0.0.1", "--port", str(port)]
    command += ["--errors", "--verboseLevel", "warn"]
    return _process(command, f"http://127.0.0.1:{port}/health", folder / "prism.log")


def _wrk(url: str, script: Path, seconds: float) -> dict[str, float]:
    command = ["wrk", "-t2", "-c32", f"-d{seconds:g}s", "--latency", "-s", str(script), url]
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    total = re.search(r"(\d+) requests in", text)
    figures = {
        "req_per_s": float(rate.group(1)) if rate else 0.0,
        "requests": float(total.group(1)) if total else 0.0,
        "non_2xx": float(bad.group(1)) if bad else 0.0,
    }
    for label, key in (("50%", "p50_ms"), ("99%", "p99_ms")):
        found = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)\b", text)
        if found:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
            figures[key] = float(found.group(1)) * scale
    return figures


def _planned(ledger: Path, limit: float = 300.0) -> float:
    """Wall seconds until no plan timer is pending in `ledger` (every submission planned): on a
    realtime clock planning gives way to a burst of submissions and catches up after it."""
    began = time.monotonic()
    with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as db:
        while time.monotonic() - began < limit:
            left = db.execute("SELECT count(*) FROM timers WHERE kind = 'plan'").fetchone()[0]
            if left == 0:
                break
            time.sleep(0.2)
    return time.monotonic() - began


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/health", timeout=60) as answer:
        result: dict[str, Any] = json.loads(answer.read())
    return result


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _median(runs: list[dict[str, float]], key: str) -> float:
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else float("nan")


def versus_prism(folder: Path, prism: str | None, seconds: float, repeat: int) -> None:
    """Alternate wrk runs: ours on a manual clock (each CAR validated against its schema and
    ledgered, its responses planned when time moves), ours on a realtime clock (planning too,
    in the same process, within the run) and Prism validating against the same document."""
    print(f"\n1. wrk -t2 -c32 -d{seconds:g}s, unique valid CARs (median of {repeat})")
    runs: dict[str, list[dict[str, float]]] = {"manual": [], "realtime": [], "Prism": []}
    if prism is None:
        print("   Prism: not found (npm install @stoplight/prism-cli; or --prism PATH)")
    for n in range(repeat):
        for clock in ("manual", "realtime"):
            port = free_port()
            ledger = folder / f"versus-{clock}-{n}.sqlite3"
            with _ours(folder, port, clock, ledger):
                url = f"http://127.0.0.1:{port}"
                _wrk(url, _script(folder, f"w{clock[0]}{n}"), 3)  # not counted
                runs[clock].append(_wrk(url, _script(folder, f"{clock[0]}{n}"), seconds))
                if clock == "realtime":  # every submission planned, how soon after the burst
                    runs[clock][-1]["planned_s"] = _planned(ledger)
        if prism is not None:
            port = free_port()
            with _prism(folder, prism, port):
                url = f"http://127.0.0.1:{port}"
                _wrk(url, _script(folder, f"wp{n}"), 3)  # not counted: Node warms up
                runs["Prism"].append(_wrk(url, _script(folder, f"p{n}"), seconds))
    names = {"manual": "ours, manual", "realtime": "ours, realtime", "Prism": "Prism"}
    for key, found in runs.items():
        for n, run in enumerate(found, 1):
            planned = f"   all planned {run['planned_s']:.1f} s after" if "planned_s" in run else ""
            print(
                f"   {names[key]:15} run {n}: {run['req_per_s']:6.0f} req/s"
                f"   p50 {run.get('p50_ms', float('nan')):6.2f} ms"
                f"   p99 {run.get('p99_ms', float('nan')):6.2f} ms{planned}"
            )
    for key, found in runs.items():
        if found:
            print(
                f"   {names[key]:15} {_median(found, 'req_per_s'):8.0f} req/s"
                f"   p50 {_median(found, 'p50_ms'):7.2f} ms"
                f"   p99 {_median(found, 'p99_ms'):7.2f} ms"
                f"   non-2xx {_median(found, 'non_2xx'):.0f}"
            )
    if runs["realtime"]:
        print(
            f"   realtime: every submission planned {_median(runs['realtime'], 'planned_s'):.1f} s"
            " after the burst (plans fall due 5 s after receipt; the planner gives way to intake"
            " while it comes, 20 virtual s at most)"
        )
    if runs["Prism"]:
        theirs = _median(runs["Prism"], "req_per_s")
        their_p99 = _median(runs["Prism"], "p99_ms")
        for key in ("manual", "realtime"):
            ratio = _median(runs[key], "req_per_s") / theirs
            p99 = _median(runs[key], "p99_ms") / their_p99
            print(
                f"   ratio {names[key]} / Prism   {ratio:.2f}x req/s (target >= 3),"
                f" p99 {p99:.2f}x Prism's (target <= 1)"
            )


def a_million(folder: Path, total: int, segment: float) -> None:
    print(f"\n2. {total:,} submissions, manual clock (all pending), wrk in {segment:g} s segments")
    port = free_port()
    ledger = folder / "million.sqlite3"
    rates: list[tuple[int, float]] = []  # (submissions so far, rate of the segment)
    with _ours(folder, port, "manual", ledger) as child:
        url = f"http://127.0.0.1:{port}"
        done, n = 0, 0
        began = time.monotonic()
        while done < total:
            figures = _wrk(url, _script(folder, f"m{n}"), segment)
            n += 1
            counted = _health(url)["ledger"]["messages"]
            rates.append((counted, (counted - done) / segment))
            done = counted
        wall = time.monotonic() - began
        rss = _rss_mb(child.pid)
        health = _health(url)
    size = sum(p.stat().st_size for p in folder.glob("million.sqlite3*"))
    first = [r for c, r in rates if c <= rates[-1][0] * 0.1] or [rates[0][1]]
    last = [r for c, r in rates if c >= rates[-1][0] * 0.9] or [rates[-1][1]]
    print(f"   submissions     {done:,} in {wall:.0f} s wall ({done / wall:.0f}/s overall)")
    print(f"   pending timers  {health['pending_timers']:,}")
    print(f"   RSS             {rss:.0f} MB (target <= 200 MB)")
    print(f"   ledger          {size / done:.0f} bytes per submission (target <= 1,536)")
    print(f"   p99 last wrk    {figures.get('p99_ms', float('nan')):.2f} ms")
    ratio = statistics.median(last) / statistics.median(first)
    print(f"   last 10 % / first 10 % rate   {ratio:.2f} (target >= 0.90)")


def _prism_path(given: str | None) -> str | None:
    env = Path(sys.prefix) / "prism" / "node_modules" / ".bin" / "prism"
    for candidate in (given, os.environ.get("PRISM"), str(env), shutil.which("prism")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--submissions", type=int, default=1_000_000)
    parser.add_argument("--segment", type=float, default=10.0)
    parser.add_argument("--prism", help="the prism executable")
    parser.add_argument(
        "--year",
        action="store_true",
        help="for bench/replay.py, which `tox -e bench -- --year` gives it too: nothing here",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk); no load figures")
        return
    prism = _prism_path(args.prism)
    print(f"python {sys.version.split()[0]}; wrk {shutil.which('wrk')}; prism {prism}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        versus_prism(folder, prism, args.duration, args.repeat)
        if args.submissions > 0:
            a_million(folder, args.submissions, args.segment)


if __name__ == "__main__":
    main()
