"""Serving the mocks over HTTP with uvicorn (uvloop and httptools when installed, no access log)."""

from __future__ import annotations

import importlib.util
import ipaddress
import socket

import uvicorn

from .app import create_app
from .service import MockService

__all__ = ["is_loopback", "server"]


def is_loopback(host: str) -> bool:
    """Whether `host` names only this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server(
    service: MockService,
    *,
    host: str = "127.0.0.1",
    port: int = 8700,
    sock: socket.socket | None = None,
    log_level: str = "warning",
) -> uvicorn.Server:
    """A uvicorn server for `service`; off loopback the service must carry an admin token."""
    if not is_loopback(host) and service.admin_token is None:
        raise ValueError(
            f"--host {host} is off loopback: give --admin-token (or INTEROP_ADMIN_TOKEN) "
            "so the admin API is not open to the network (rule: safe by default)"
        )
    fast = importlib.util.find_spec("uvloop") is not None
    config = uvicorn.Config(
        create_app(service),
        host=host,
        port=port,
        loop="uvloop" if fast else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        access_log=False,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)
