"""Off loopback, the token guards the evidence: LEA inbox posts, `/health`'s details; SMTP takes
mail only from the networks allowed; the admin token comes from a file or the environment."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from aiosmtpd.smtp import Envelope, Session

import schemas
from interop import main
from mocks.api.app import create_app
from mocks.servers.server import free_port
from mocks.servers.smtp import SubmissionHandler
from mocks.state.service import MockService
from tests.conftest import manual_clock

pytestmark = pytest.mark.anyio
TOKEN = "s3cret-token"


async def test_off_loopback_inbox_posts_and_health_details_need_the_token() -> None:
    async with MockService(clock=manual_clock(), admin_token=TOKEN) as service:
        service.exposed = True
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://mocks.test") as client:
            idr = schemas.examples("idr")[1]
            forged = await client.post("/lea/NC0920000/inbox", json=idr)
            assert forged.status_code == 401
            auth = {"authorization": f"Bearer {TOKEN}"}
            taken = await client.post("/lea/NC0920000/inbox", json=idr, headers=auth)
            assert taken.status_code == 202
            bare = (await client.get("/health")).json()
            assert bare == {"status": "ok"}
            full = (await client.get("/health", headers=auth)).json()
            assert "callback" in full
            assert "deliveries" in full
            for health in (bare, full):
                assert schemas.problems("api.json#/$defs/health", health) == []


async def test_on_loopback_inbox_posts_need_no_token() -> None:
    async with MockService(clock=manual_clock(), admin_token=TOKEN) as service:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://mocks.test") as client:
            idr = schemas.examples("idr")[1]
            assert (await client.post("/lea/NC0920000/inbox", json=idr)).status_code == 202
            assert "deliveries" in (await client.get("/health")).json()


async def test_smtp_takes_mail_only_from_the_networks_allowed() -> None:
    service = MockService(clock=manual_clock())

    async def mail_from(allow: list[str] | None) -> str:
        session = Session(asyncio.get_running_loop())
        session.peer = cast(Any, ("127.0.0.1", 40000))
        handler = SubmissionHandler(service, allow=allow)
        return await handler.handle_MAIL(
            None,  # type: ignore[arg-type]
            session,
            Envelope(),
            "sib@state.example",
            [],
        )

    assert (await mail_from(["10.0.0.0/8"])).startswith("550 5.7.1")
    assert (await mail_from(["127.0.0.0/8"])).startswith("250")
    assert (await mail_from(None)).startswith("250")


def _serve(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["serve", *argv], out=out)
    return code, out.getvalue()


def test_smtp_off_loopback_needs_an_allow_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    argv = ["--host", "0.0.0.0", "--port", str(free_port("0.0.0.0"))]
    argv += ["--smtp-port", str(free_port("0.0.0.0")), "--admin-token-file", str(token)]
    code, said = _serve(*argv)
    assert code != 0
    assert "--smtp-allow" in said + capsys.readouterr().err


def test_an_empty_token_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = tmp_path / "token"
    token.write_text("\n")
    code, said = _serve("--port", str(free_port()), "--admin-token-file", str(token))
    assert code != 0
    assert "holds no token" in said + capsys.readouterr().err
