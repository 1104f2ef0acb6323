"""The HTML report of a failing SIB, as a certifier sees it in a browser (Debian's chromium,
headless; `.ci/run` installs it)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conformance.run import check, publish, stage

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """A real run against a SIB that routes a duplicated delivery twice (breaks TIM-3, a MUST)."""
    folder = tmp_path_factory.mktemp("failing")
    with stage("nff", variant="routes-duplicates") as profile:
        path = folder / "sut-profile.json"
        path.write_text(json.dumps(profile))
        # our SIBs act in milliseconds: a tenth of the budgets and quiet periods, as the demo does
        check(path, report_dir=folder, extra=["--budget-factor", "0.1"])
    report, _ = publish(folder, sut_name="routes-duplicates")
    return report, folder / "report.html"


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None, (
        "the report test needs Debian's chromium (apt-get install chromium)"
    )
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}",
    ]  # fmt: skip
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120,
                          check=True)  # fmt: skip


def test_a_failing_report_names_the_failed_requirement_and_its_level_in_the_banner(
    failing: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    report, page = failing
    assert report["verdict"] == "not-conformant"
    dom = _chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile").stdout
    banner = dom.split('id="verdict"')[1].split("</header>")[0]
    assert "NOT CONFORMANT" in banner
    assert "<b>TIM-3</b> (MUST) failed" in banner
    failure = dom.split('<section class="failure"')[1].split("</section>")[0]
    reason = failure.split('<p class="reason failed">')[1].split("</p>")[0]
    assert reason.strip()
    assert "object at 0x" not in reason
    assert ".py:" not in reason
    assert 'id="matrix"' in dom
    assert "<svg" in dom
    shot = tmp_path / "report.png"
    _chromium("--window-size=1200,1400", f"--screenshot={shot}", page.as_uri(),
              profile=tmp_path / "profile2")  # fmt: skip
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000
