"""The suite run against a SIB in another process on another port, exactly as the README says."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from interop import main
from mocks.servers.server import free_port

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("variant", "code"), [("reference", 0), ("swallows-errt", 3)])
def test_interop_check_against_a_sib_on_another_port(
    tmp_path: Path, variant: str, code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTEROP_BUDGET_FACTOR", "0.05")
    mocks_port, sib_port = free_port(), free_port()
    profile = {
        "state": "NC",
        "sib_ori": "NC0000000",
        "nff": True,
        "message_routing": True,
        "activated_oris": ["NC0100000", "NC0110000", "NC0120000", "NC0130000"],
        "opted_out_oris": ["NC0130000"],
        "lea_inbox_base": f"http://127.0.0.1:{mocks_port}/lea",
        "sut_url": f"http://127.0.0.1:{sib_port}",
        "follows_virtual_clock": True,
    }
    path = tmp_path / "sut.json"
    path.write_text(json.dumps(profile))
    command = [
        sys.executable, "-m", "interop", "sib", "--profile", str(path),
        "--port", str(sib_port), "--cjis-url", f"http://127.0.0.1:{mocks_port}",
        "--variant", variant,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with (tmp_path / "sib.log").open("wb") as log:
        sib = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{profile['sut_url']}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        out = io.StringIO()
        result = main(
            ["check", "--sut-profile", str(path), "--report-dir", str(tmp_path / "out")], out=out
        )
    finally:
        sib.terminate()
        sib.wait(timeout=10)
    text = out.getvalue()
    assert result == code, text
    found = json.loads((tmp_path / "out" / "results.json").read_text())
    assert found["budget_factor"] == 0.05
    outcomes = {r["outcome"] for r in found["results"]}
    if code == 0:
        assert outcomes == {"passed", "not-applicable"}, text
        assert " 0 failed" in text
    else:
        assert "FAIL RTE-5" in text
