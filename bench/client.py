"""Outbound HTTP: CPU per POST of our pool (`mocks.delivery.client.Outbound`) against httpx's own
pool, and aiohttp's where it is installed, to a local uvicorn server, `--inflight` requests at once.

    python bench/client.py [--requests 5000] [--inflight 32] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from mocks.delivery.client import Outbound
from mocks.servers.server import free_port, wait_until_answering

_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"status": "taken"}'})
"""
_BODY = b'{"type1": {"tot": "SRE"}, "type2": {"nam": "' + b"X" * 2000 + b'"}}'
_HEADERS = {"content-type": "application/json", "x-interop-message-id": "bench"}

Post = Callable[[str], Awaitable[int]]


async def _outbound() -> tuple[Post, Callable[[], Awaitable[None]]]:
    pool = Outbound()

    async def post(url: str) -> int:
        return (await pool.post(url, _BODY, _HEADERS)).status_code

    return post, pool.aclose


async def _httpx() -> tuple[Post, Callable[[], Awaitable[None]]]:
    pool = httpx.AsyncClient(limits=httpx.Limits(max_connections=64))

    async def post(url: str) -> int:
        return (await pool.post(url, content=_BODY, headers=_HEADERS)).status_code

    return post, pool.aclose


async def _aiohttp() -> tuple[Post, Callable[[], Awaitable[None]]]:
    import aiohttp

    session = aiohttp.ClientSession()

    async def post(url: str) -> int:
        async with session.post(url, data=_BODY, headers=_HEADERS) as answer:
            await answer.read()
            return answer.status

    return post, session.close


async def _measure(
    make: Callable[[], Awaitable[tuple[Post, Callable[[], Awaitable[None]]]]],
    url: str,
    args: argparse.Namespace,
) -> float:
    post, close = await make()
    gate = asyncio.Semaphore(args.inflight)

    async def one() -> None:
        async with gate:
            assert await post(url) == 200

    await asyncio.gather(*(one() for _ in range(500)))
    began = time.process_time()
    await asyncio.gather(*(one() for _ in range(args.requests)))
    used = time.process_time() - began
    await close()
    return used / args.requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--inflight", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    clients = {"Outbound (ours)": _outbound, "httpx.AsyncClient": _httpx}
    try:
        import aiohttp  # noqa: F401

        clients["aiohttp"] = _aiohttp
    except ImportError:
        print("aiohttp is not installed: it is left out")
    port = free_port()
    folder = Path(__file__).resolve().parent
    (folder / "_client_app.py").write_text(_APP)
    command = [sys.executable, "-m", "uvicorn", "_client_app:app", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, cwd=folder)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/")
        url = f"http://127.0.0.1:{port}/lea/NY0100000/inbox"
        print(
            f"\nOutbound POSTs of {len(_BODY):,} bytes, {args.inflight} in flight:"
            f" client CPU per request, median of {args.repeat}"
        )
        figures = {}
        for name, make in clients.items():
            runs = [asyncio.run(_measure(make, url, args)) for _ in range(args.repeat)]
            figures[name] = statistics.median(runs)
        ours = figures["Outbound (ours)"]
        for name, micros in figures.items():
            print(f"   {name:20s} {micros:6.0f} µs   {micros / ours:4.1f}x ours")
    finally:
        server.terminate()
        server.wait()
        (folder / "_client_app.py").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
