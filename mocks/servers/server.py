"""Serving over HTTP: the mocks on `http11` (httptools on an asyncio protocol, no ASGI server, the
least work per request), any other ASGI app (and the mocks beside their SMTP server) with uvicorn
(uvloop and httptools when installed, each small response in one write; no access log, no proxy
headers, no `server` header); both within the limits of `mocks.transport.guard` (idle and slow
clients closed, headers capped, room kept for `/health` and the admin API)."""

from __future__ import annotations

import importlib.util
import ipaddress
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from ..api.app import create_app
from ..state.service import MockService
from ..transport.bodies import SUBMISSION_LIMIT
from ..transport.guard import BACKLOG, RESERVED, Guard, for_process
from .http11 import Http11Server

__all__ = [
    "free_port",
    "in_thread",
    "is_loopback",
    "server",
    "serving",
    "uvicorn_mocks",
    "uvicorn_server",
    "wait_until_answering",
]


def is_loopback(host: str) -> bool:
    """Whether `host` names only this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _http_protocol(guard: Guard) -> Any:
    """httptools, each small response in one write (`onewrite`), within `guard`'s limits, when
    installed; else h11 (its headers capped, its idle connections closed; no header timeout)."""
    if importlib.util.find_spec("httptools") is None:
        return "h11"
    from ..transport.onewrite import OneWriteProtocol

    return guard.protocol(OneWriteProtocol)


def uvicorn_server(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8700,
    log_level: str = "warning",
    fast_loop: bool = True,
    guard: Guard | None = None,
) -> uvicorn.Server:
    """A uvicorn server for any ASGI app, with the fast loop and parser when installed, within
    `guard`'s limits (the process's by default).

    A server run in a thread beside others (`in_thread`) takes the standard asyncio loop.
    """
    fast = fast_loop and importlib.util.find_spec("uvloop") is not None
    guard = guard or for_process()
    config = uvicorn.Config(
        guard.admit(app),
        host=host,
        port=port,
        loop="uvloop" if fast else "asyncio",
        http=_http_protocol(guard),
        access_log=False,
        proxy_headers=False,
        server_header=False,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=5,
        backlog=BACKLOG,
        timeout_keep_alive=max(1, round(guard.idle_seconds)),
        h11_max_incomplete_event_size=guard.header_limit,
    )
    return uvicorn.Server(config)


def _exposed(service: MockService, host: str) -> None:
    """Off loopback the service must carry an admin token (rule: safe by default)."""
    if not is_loopback(host) and service.admin_token is None:
        raise ValueError(
            f"--host {host} is off loopback: give --admin-token (or INTEROP_ADMIN_TOKEN) "
            "so the admin API is not open to the network (rule: safe by default)"
        )
    service.exposed = not is_loopback(host)


def server(
    service: MockService,
    *,
    host: str = "127.0.0.1",
    port: int = 8700,
    log_level: str = "warning",
    fast_loop: bool = True,
    guard: Guard | None = None,
) -> Http11Server:
    """The mocks' server (`http11`); off loopback the service must carry an admin token."""
    _exposed(service, host)
    return Http11Server(
        create_app(service),
        host=host,
        port=port,
        log_level=log_level,
        fast_loop=fast_loop,
        guard=guard,
        reserved=RESERVED,
        # A body a little over the mocks' own limit reaches them, to be refused naming it.
        body_limit=SUBMISSION_LIMIT + 1024,
    )


def uvicorn_mocks(
    service: MockService,
    *,
    host: str = "127.0.0.1",
    port: int = 8700,
    log_level: str = "warning",
    guard: Guard | None = None,
) -> uvicorn.Server:
    """The mocks under uvicorn (beside their SMTP server, `smtp.ServerWithSmtp`, a uvicorn
    server); off loopback the service must carry an admin token."""
    _exposed(service, host)
    return uvicorn_server(
        create_app(service), host=host, port=port, log_level=log_level, guard=guard
    )


@contextmanager
def in_thread(make: Any, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run `make(port)` (a `uvicorn.Server` or an `Http11Server`) in a thread; yield its base URL
    until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    running: uvicorn.Server | Http11Server = make(bound)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        if time.monotonic() > deadline or not thread.is_alive():
            sock.close()
            raise RuntimeError(f"the server on {host}:{bound} did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{bound}"
    finally:
        running.should_exit = True
        thread.join(timeout=20)
        sock.close()


@contextmanager
def serving(
    service: MockService, *, host: str = "127.0.0.1", port: int = 0, guard: Guard | None = None
) -> Iterator[str]:
    """Serve the mocks in a thread of this process; yield their base URL."""
    with in_thread(
        lambda bound: server(service, host=host, port=bound, guard=guard), host=host, port=port
    ) as url:
        yield url


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` right now (for a server about to be started there)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until_answering(url: str, timeout: float = 60.0) -> None:
    """Return once a GET of `url` answers (a server started in another process is up); raise
    the last `OSError` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
