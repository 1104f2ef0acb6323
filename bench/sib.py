"""The reference SIB alone: its CPU per booking against stand-in mocks that cost it nothing extra.

Starts `interop sib` as a process of its own, and in this process stand-in mocks (CJIS takes each
CAR with a 202 and delivers an SRE and an IDR for it; the LEA inboxes take what is routed) and the
LEAs (bookings, `--concurrency` in flight). Prints the SIB's CPU (user and system) per booking,
counted from its first booking to the last routed IDR, so start-up is not in it. The replay's mix
(`python bench/replay.py`) is the figure that counts; this one moves less with the machine's load,
for comparing two builds of the SIB.

    python bench/sib.py [--bookings 10000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop

from conformance.replay import _profile
from mocks.delivery.client import Outbound
from mocks.servers.server import free_port, uvicorn_server, wait_until_answering
from synthetic import Synthesizer

_JSON = {"content-type": "application/json"}
_WHEN = datetime(2027, 1, 1, tzinfo=UTC)


def _cpu(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


class _Mocks:
    """CJIS and the LEA inboxes, as little as the SIB needs (an ASGI app)."""

    def __init__(self, sib_url: str, bookings: int) -> None:
        self.sib_url, self.expected = sib_url, 2 * bookings
        self.synth = Synthesizer(2009)
        self.client = Outbound()
        self.routed = 0
        self.done: asyncio.Event | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        status, answer = 200, b"{}"
        if scope["path"] == "/cjis/submissions":
            status, answer = 202, b'{"virtual_time": "20270101000000Z"}'
            task = asyncio.get_running_loop().create_task(self._respond(json.loads(body)))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif scope["path"].endswith("/inbox"):
            self.routed += 1
            if self.routed >= self.expected and self.done is not None:
                self.done.set()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    async def _respond(self, car: dict[str, Any]) -> None:
        sre = self.synth.sre(car, srf="N", gmt=_WHEN)
        idr = self.synth.idr(car, gmt=_WHEN)
        for message in (sre, idr):
            headers = {**_JSON, "x-interop-message-id": message["type1"]["tcn"]}
            url = f"{self.sib_url}/cjis/responses"
            await self.client.post(url, json.dumps(message).encode(), headers)


async def _run(args: argparse.Namespace, sib_url: str, mocks: _Mocks, pid: int) -> float:
    mocks.done = asyncio.Event()
    synth = Synthesizer(7)
    bookings = [synth.booking("NY0100000", doa=date(2027, 1, 1)) for _ in range(200)]
    leas = Outbound()
    gate = asyncio.Semaphore(args.concurrency)
    before = sum(_cpu(pid))

    async def book(n: int) -> None:
        booking = dict(bookings[n % len(bookings)], booking_id=f"B{n:09d}")
        booking["prints"] = dict(booking["prints"], biometric_key=f"SYN-{n:016X}")
        async with gate:
            answer = await leas.post(f"{sib_url}/bookings", json.dumps(booking).encode(), _JSON)
        if answer.status_code != 202:
            raise RuntimeError(f"booking {n}: HTTP {answer.status_code} {answer.content!r}")

    await asyncio.gather(*(book(n) for n in range(args.bookings)))
    await asyncio.wait_for(mocks.done.wait(), timeout=600)
    return sum(_cpu(pid)) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    mocks_port, sib_port = free_port(), free_port()
    mocks_url, sib_url = f"http://127.0.0.1:{mocks_port}", f"http://127.0.0.1:{sib_port}"
    mocks = _Mocks(sib_url, args.bookings)
    with tempfile.TemporaryDirectory() as folder:
        profile = Path(folder, "profile.json")
        profile.write_text(json.dumps(_profile("NY", mocks_url, sib_url)))
        command = [sys.executable, "-m", "interop", "sib", "--port", str(sib_port)]
        command += ["--profile", str(profile), "--cjis-url", mocks_url]
        command += ["--store", str(Path(folder, "sib.sqlite3"))]
        sib = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        try:
            wait_until_answering(f"{sib_url}/health")
            server = uvicorn_server(mocks, port=mocks_port, log_level="error")

            async def both() -> float:
                serving = asyncio.get_running_loop().create_task(server.serve())
                while not server.started:
                    await asyncio.sleep(0.01)
                try:
                    return await _run(args, sib_url, mocks, sib.pid)
                finally:
                    server.should_exit = True
                    await serving

            used = uvloop.run(both())
        finally:
            sib.terminate()
            sib.wait(timeout=20)
    print(f"reference SIB alone: {args.bookings:,} bookings, each an SRE and an IDR routed")
    print(f"   CPU per booking {used / args.bookings * 1000:.3f} ms (target 0.5)")


if __name__ == "__main__":
    main()
