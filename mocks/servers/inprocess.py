"""The mocks in process for a vendor's Python tests: no socket, a manual clock, respx.

`mount(router, app, base_url)` routes every request an httpx client sends under `base_url` to the
mock app, through a respx router; the vendor's code keeps the CJIS base URL it is configured with.
As a pytest plugin (`pytest_plugins = ["mocks.servers.inprocess"]` in a `conftest.py`) it gives:

* `cjis_mocks`: the started `MockService` (manual clock, ledger in memory) with the app mounted at
  `cjis_base_url` under an active `respx.mock`; its deliveries (SRE, IDR, ...) go to `sib_app`
  mounted at `sib_callback_url` through the same router;
* `cjis_base_url`, `sib_callback_url`, `sib_app`, `cjis_scenario`: override these fixtures to say
  where your client sends its CARs, where your SIB takes deliveries, your SIB's ASGI app and the
  scenario.

The clients must be `httpx.AsyncClient`s and the tests async (the mocks run on the test's event
loop). `tests/examples/test_howto_respx.py` is a runnable example.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from ..api.app import create_app
from ..state.service import MockService

__all__ = [
    "CJIS_BASE_URL",
    "cjis_base_url",
    "cjis_mocks",
    "cjis_scenario",
    "mount",
    "sib_app",
    "sib_callback_url",
]

CJIS_BASE_URL = "http://127.0.0.1:8700"
"""Where `interop serve` listens by default: what a SIB's configuration usually names."""


def mount(router: respx.MockRouter, app: Any, base_url: str) -> respx.Route:
    """Route every request under `base_url` to the ASGI `app`, in process."""
    transport = httpx.ASGITransport(app=app)

    async def forward(request: httpx.Request) -> httpx.Response:
        answer = await transport.handle_async_request(request)
        body = await answer.aread()
        return httpx.Response(answer.status_code, headers=answer.headers, content=body)

    prefix = base_url.rstrip("/")
    return router.route(url__startswith=f"{prefix}/").mock(side_effect=forward)


@pytest.fixture
def cjis_base_url() -> str:
    """The CJIS base URL your SIB's httpx client is configured with (override to change)."""
    return CJIS_BASE_URL


@pytest.fixture
def sib_callback_url() -> str:
    """Where the mocks deliver SRE, IDR, IDR/IAR and ERRT: your SIB's `POST /cjis/responses`."""
    return "http://sib.test/cjis/responses"


@pytest.fixture
def sib_app() -> Any:
    """Your SIB as an ASGI app taking the deliveries (None: the mocks deliver nowhere)."""
    return None


@pytest.fixture
def cjis_scenario() -> dict[str, Any]:
    """The scenario (`schemas/scenario.json`) the mocks play."""
    return {}


@pytest.fixture
async def cjis_mocks(
    cjis_base_url: str, sib_callback_url: str, sib_app: Any, cjis_scenario: dict[str, Any]
) -> AsyncIterator[MockService]:
    """The mocks on a manual clock, mounted at `cjis_base_url` under an active respx router."""
    service = MockService(
        clock="manual",
        scenario=cjis_scenario,
        callback=sib_callback_url if sib_app is not None else None,
        transport=httpx.AsyncHTTPTransport(),  # httpx's own pool: the one respx routes
    )
    with respx.mock(assert_all_called=False) as router:
        mount(router, create_app(service), cjis_base_url)
        if sib_app is not None:
            where = httpx.URL(sib_callback_url)
            mount(router, sib_app, f"{where.scheme}://{where.netloc.decode()}")
        async with service:
            yield service
