"""`interop replay`: a state's year of bookings through a SIB into the mocks, end to end.

The mocks (`interop serve`, a file ledger) and the reference SIB (`interop sib`, or your SIB at
`--sut-url`) run as processes of their own; the replay plays the LEAs, booking synthetic people
into the SIB, which forwards CARs to the mock CJIS, takes its responses and routes them to the LEA
inboxes. By default the mocks run on a manual clock that the replay moves on slice by slice while
the slice's bookings go, so virtual time keeps pace with the SIB however fast it is (`--scale`
runs a scaled clock instead, and books on it). A progress bar shows wall and virtual time, what is
owed and what is lost; at the end the program metrics of the briefing's Figure 1 are read from the
ledger (transmissions, IDENT matches, Level 1, Level 2/3, US citizens, and per month) and printed
beside the briefing's own ratios.

Beside the fingerprint path the LEAs use the NLETS one (SOP 2.2.7): a share of them
(`--nlets-share`, ours) query LESC by name through the SIB once their booking's no-match IDR came;
Figure 1 counts those IAQs and LESC's answers in a column of ours.

Lost counts bookings the SIB refused, bookings it never forwarded to CJIS, and deliveries still
owed when the run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import itertools
import json
import math
import os
import subprocess
import time
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import httpx
from rich.console import Console
from rich.progress import Progress, TextColumn

from mocks.delivery.client import Outbound
from mocks.servers.server import free_port, wait_until_answering
from protocol.levels import highest_level
from synthetic import Synthesizer

from .figure1 import metrics, print_figure_1
from .run import PYTHON

__all__ = ["NEW_YORK_YEAR", "replay"]

NEW_YORK_YEAR = 1_104_840
"""Annual fingerprint submissions the New York deployment briefing expects."""

_NAMES = ("mocks", "reference SIB")
_JSON = {"content-type": "application/json"}


@contextlib.contextmanager
def _processes(
    commands: list[tuple[list[str], str]], folder: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    children: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as logs:
        try:
            for n, (command, ready) in enumerate(commands):
                log = logs.enter_context((folder / f"process-{n}.log").open("wb"))
                children.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
                wait_until_answering(ready)
            yield children
        finally:
            for child in children:
                child.terminate()
            for child in children:
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


def _profile(state: str, mocks_url: str, sut_url: str) -> dict[str, Any]:
    return {
        "state": state,
        "sib_ori": f"{state}0000000",
        "nff": False,
        "message_routing": True,
        "activated_oris": [f"{state}0{n:02d}0000" for n in range(10, 60)],
        "opted_out_oris": [],
        "nlets_relay": True,
        "lea_inbox_base": f"{mocks_url}/lea",
        "sut_url": sut_url,
        "follows_virtual_clock": True,
    }


def replay(args: argparse.Namespace, folder: Path, ledger: Path, out: TextIO) -> dict[str, Any]:
    """Run the replay; print the progress and the metrics; return the metrics and `lost`."""
    mocks_port, sib_port = free_port(), free_port()
    mocks_url = f"http://127.0.0.1:{mocks_port}"
    sut_url = (args.sut_url or f"http://127.0.0.1:{sib_port}").rstrip("/")
    python = [*PYTHON, "-m", "interop"]
    clock = "manual" if args.scale is None else f"scaled:{args.scale:g}"
    serve = [*python, "serve", "--port", str(mocks_port), "--clock", clock]
    serve += ["--ledger", str(ledger), "--sut-callback", f"{sut_url}/cjis/responses"]
    commands = [(serve, f"{mocks_url}/health")]
    if args.sut_url is None:
        profile = folder / "sut-profile.json"
        profile.write_text(json.dumps(_profile(args.state, mocks_url, sut_url)))
        sib = [*python, "sib", "--port", str(sib_port), "--profile", str(profile)]
        sib += ["--cjis-url", mocks_url, "--store", str(folder / "sib.sqlite3")]
        commands.append((sib, f"{sut_url}/health"))
    began = time.monotonic()
    with _processes(commands, folder) as children:
        refused = _run_fast(_drive(args, mocks_url, sut_url, out))
        owed = _health(mocks_url)["deliveries"]["owed"]
        named = list(zip(_NAMES, children, strict=False))
        peaks = {name: _peak_rss_mb(child.pid) for name, child in named}
        cpu = {name: _cpu_seconds(child.pid) for name, child in named}
    wall = time.monotonic() - began
    found = metrics(ledger)
    booked = args.submissions
    unsent = max(0, booked - refused - found["total"]["transmissions"])
    lost = {"refused": refused, "not forwarded": unsent, "owed": owed}
    print_figure_1(found, args, wall, lost, out)
    print("  peak RSS " + ", ".join(f"{k} {v:.0f} MB" for k, v in peaks.items()), file=out)
    cpu["replay"] = time.process_time()
    each = ", ".join(f"{k} {v / max(1, booked) * 1000:.2f} ms" for k, v in cpu.items())
    print(f"  CPU per booking {each}", file=out)
    return {**found, "lost": sum(lost.values()), "wall": wall}


def _run_fast(main: Coroutine[Any, Any, int]) -> int:
    """Run `main` on uvloop where it is installed (it is with uvicorn's extras), else asyncio."""
    if importlib.util.find_spec("uvloop") is None:
        return asyncio.run(main)
    import uvloop

    return uvloop.run(main)


def _peak_rss_mb(pid: int) -> float:
    """The most memory the process ever held (Linux; 0 where /proc has no answer)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) the process has used so far (Linux; 0 elsewhere)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/health", timeout=60) as answer:
        result: dict[str, Any] = json.loads(answer.read())
    return result


def _bookings(args: argparse.Namespace, start: datetime) -> Iterator[tuple[float, dict[str, Any]]]:
    """The year's bookings in order, each with its virtual offset from `start` in seconds: a pool
    of synthetic people, each booking its own prints."""
    synth = Synthesizer(2009)
    oris = [f"{args.state}0{n:02d}0000" for n in range(10, 60)]
    made = (synth.booking(oris[n % len(oris)], doa=start.date()) for n in itertools.count())
    pool = list(itertools.islice(filter(_not_level_1, made), 500))
    step = args.days * 86400.0 / max(1, args.submissions)
    for n in range(args.submissions):
        booking = dict(pool[n % len(pool)], booking_id=f"R{n:09d}", ori=oris[n % len(oris)])
        booking["prints"] = dict(booking["prints"], biometric_key=f"SYN-{n:016X}")
        yield n * step, booking


def _not_level_1(booking: dict[str, Any]) -> bool:
    """Whether no instant charge is Level 1: in the briefing's mix Level 1 comes from the LESC
    determinations (the scenario's `level_1` share); a pool of random charges would swamp it."""
    charges = ((c["ncic"], c.get("sentence_days")) for c in booking["charges"])
    return highest_level(charges) != 1


def _arrested(booking: dict[str, Any], when: datetime) -> dict[str, Any]:
    """The booking (a copy of what is shared) as arrested on `when`'s date (its charges too)."""
    doa = when.strftime("%Y%m%d")
    charges = [dict(charge, doo=doa) for charge in booking["charges"]]
    return dict(booking, doa=doa, charges=charges)


class _Driver:
    """Books into the SIB (`concurrency` at once), counts what it refused, shows progress."""

    def __init__(
        self, http: Outbound, args: argparse.Namespace, urls: tuple[str, str], out: TextIO
    ) -> None:
        self.http, self.args = http, args
        self.mocks_url, self.sut_url = urls
        self.refused = 0
        self.booked = 0
        self.wall0 = time.monotonic()
        self._gate = asyncio.Semaphore(args.concurrency)
        self.askers: dict[str, dict[str, Any]] = {}
        """Bookings whose LEA will query by name after a no-match, by TCN."""
        self._seen = 0
        self._synth = Synthesizer(2026)
        self.progress = Progress(TextColumn("{task.description}"), console=Console(file=out))
        self.task = self.progress.add_task("starting", total=args.submissions)

    async def book(self, booking: dict[str, Any]) -> None:
        async with self._gate:
            try:
                body = json.dumps(booking).encode()
                answer = await self.http.post(f"{self.sut_url}/bookings", body, _JSON)
                self.refused += answer.status_code >= 300
                if answer.status_code < 300 and self._synth.rng.random() < self.args.nlets_share:
                    self.askers[str(answer.json().get("tcn"))] = booking
            except httpx.HTTPError:
                self.refused += 1
        self.booked += 1

    async def ask_after_no_match(self) -> None:
        """The LEAs whose no-match IDRs came since the last look (the mocks' ledger) and who
        query by name: each sends LESC its name-based IAQ through the SIB (SOP 2.2.7). The look
        goes on from the last entry seen, so each IDR is read once."""
        while True:
            url = f"{self.mocks_url}/admin/ledger?tot=IDR&after={self._seen}"
            page = (await self.http.get(url)).json()
            entries = page["entries"]
            asked = [(tcr, self.askers.pop(tcr)) for tcr in self._no_matches(entries)]
            if asked:
                now = await self.now()  # once a page: the LEAs ask at this virtual instant
                for tcr, booking in asked:
                    await self._ask(booking, tcr, now)
            if entries:
                self._seen = max(self._seen, int(entries[-1]["seq"]))
            if page.get("next") is None:
                return

    def _no_matches(self, entries: list[dict[str, Any]]) -> list[str]:
        """The TCRs of the routed IDRs among `entries` whose LEA asks by name on a no-match (the
        askers of a match are forgotten)."""
        found = []
        for entry in entries:
            message = entry["message"]
            header = message.get("type1", {}) if isinstance(message, dict) else {}
            tcr = header.get("tcr")
            if header.get("tot") != "IDR" or not entry["channel"].startswith("lea:"):
                continue
            if tcr not in self.askers:
                continue
            if message.get("type2", {}).get("result") != "no-match":
                self.askers.pop(tcr)
                continue
            found.append(tcr)
        return found

    async def _ask(self, booking: dict[str, Any], tcr: str, now: datetime) -> None:
        """The booking's LEA sends LESC its name-based IAQ through the SIB."""
        mid = f"{booking['ori']}-NQ-{booking['booking_id']}"
        iaq = self._synth.nlets_iaq(
            booking["person"], ori=booking["ori"], mid=mid, gmt=now, tcr=tcr
        )
        async with self._gate:
            with contextlib.suppress(httpx.HTTPError):
                await self.http.post(f"{self.sut_url}/nlets/iaq", json.dumps(iaq).encode(), _JSON)

    async def now(self) -> datetime:
        clock = (await self.http.get(f"{self.mocks_url}/admin/clock")).json()
        return datetime.fromisoformat(clock["now"].replace("Z", "+00:00")).astimezone(UTC)

    async def show(self) -> dict[str, Any]:
        """Update the progress line from the mocks' health; return the health."""
        health: dict[str, Any] = (await self.http.get(f"{self.mocks_url}/health")).json()
        self.progress.update(
            self.task,
            completed=self.booked,
            description=(
                f"wall {time.monotonic() - self.wall0:6.0f} s  "
                f"virtual {health['clock']['now'][:16]}  booked {self.booked:,}  "
                f"owed {health['deliveries']['owed']:,}  lost {self.refused:,}"
            ),
        )
        return health

    async def advance(self, seconds: float) -> None:
        """Move the mocks' manual clock on (they fire what falls due and settle deliveries)."""
        body = json.dumps({"seconds": seconds, "wait": 60}).encode()
        url = f"{self.mocks_url}/admin/clock/advance"
        answer = await self.http.request("POST", url, body, _JSON, timeout=600)
        if answer.status_code >= 300:
            raise RuntimeError(f"the mocks refused to move the clock: {answer.content[:500]!r}")


async def _drive(args: argparse.Namespace, mocks_url: str, sut_url: str, out: TextIO) -> int:
    """Book every submission on its virtual instant; the number the SIB refused."""
    http = Outbound(timeout=60, connections=args.concurrency + 4)
    try:
        driver = _Driver(http, args, (mocks_url, sut_url), out)
        with driver.progress:
            if args.scale is None:
                await _stepped(driver)
            else:
                await _paced(driver)
        return driver.refused
    finally:
        await http.aclose()


async def _stepped(driver: _Driver) -> None:
    """Manual clock, slice by slice: a slice's bookings go while the clock moves over the slice
    (so virtual time follows the bookings at whatever pace the SIB keeps); then two virtual days
    more for the 24-hour paths."""
    args = driver.args
    start = await driver.now()
    slices = itertools.groupby(_bookings(args, start), key=lambda item: int(item[0] // args.slice))
    done = 0
    for index, group in slices:
        if index > done:
            await driver.advance((index - done) * args.slice)
        when = start + timedelta(seconds=index * args.slice)
        bookings = (driver.book(_arrested(b, when)) for _, b in group)
        await asyncio.gather(driver.advance(args.slice), *bookings)
        done = index + 1
        await driver.ask_after_no_match()
        await driver.show()
    for _ in range(math.ceil(2 * 86400 / args.slice)):
        await driver.advance(args.slice)
        await driver.ask_after_no_match()
    await _settle(driver, pending=lambda: driver.advance(args.slice))


async def _paced(driver: _Driver) -> None:
    """Scaled clock: book each submission at its wall instant (late ones as soon as they can go),
    then let two virtual days pass."""
    args = driver.args
    start = await driver.now()
    pending: set[asyncio.Task[None]] = set()
    for n, (offset, booking) in enumerate(_bookings(args, start)):
        delay = driver.wall0 + offset / args.scale - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        while len(pending) >= 4 * args.concurrency:
            _, pending = await asyncio.wait(pending, return_when="FIRST_COMPLETED")
        job = asyncio.create_task(
            driver.book(_arrested(booking, start + timedelta(seconds=offset)))
        )
        pending.add(job)
        job.add_done_callback(pending.discard)
        if n % 500 == 0:
            await driver.ask_after_no_match()
            await driver.show()
    if pending:
        await asyncio.wait(pending)
    await asyncio.sleep(2 * 86400 / args.scale)
    await driver.ask_after_no_match()
    await _settle(driver, pending=lambda: asyncio.sleep(0.5))


async def _settle(driver: _Driver, pending: Callable[[], Awaitable[None]]) -> None:
    """Wait (two minutes at most) until nothing is owed and no timer is pending."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        health = await driver.show()
        if health["deliveries"]["owed"] == 0 and health["pending_timers"] == 0:
            return
        await pending()
