"""A run that ends any way leaves a report: `interop check` stopped by Ctrl-C, SIGTERM or its
`--timeout` writes a signed, incomplete report of what ran and leaves no suite process behind; a
report directory that cannot be written is a preflight error before any check; a SIB that dies
while a check waits for it fails that check at once, not at the end of the check's budget."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from conformance.catalog import budgets
from conformance.run import profile_for
from mocks.servers.server import free_port, in_thread, serving, uvicorn_server
from mocks.state.service import MockService
from reports.signing import verify
from sibs.reference import ReferenceSib

StartSib = Callable[..., Path]


def _interop(*argv: str, sigint: Any = signal.SIG_DFL) -> subprocess.Popen[str]:
    """`interop …` in a process of its own, as a person at a terminal starts it (Ctrl-C's SIGINT
    heard even when these tests run where it is ignored, as in a shell's background job), or
    with `sigint` ignored (`signal.SIG_IGN`), as some CI runners start their jobs."""
    return subprocess.Popen(
        [sys.executable, "-m", "interop", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),
    )


@pytest.fixture
def start_sib(tmp_path: Path) -> Iterator[StartSib]:
    """Start the reference SIB in a thread (with `mocks`, the mocks too, as `interop serve`
    would run them; `dies_after`: it takes that many bookings, answers
    the next ones 202 without forwarding them, and a second later stops listening); the path of
    its SUT profile, which puts the mocks on a free port."""
    with ExitStack() as stack:

        def start(*, dies_after: int | None = None, mocks: bool = False) -> Path:
            mocks_port, sib_port = free_port(), free_port()
            profile = profile_for(
                "nff",
                mocks_url=f"http://127.0.0.1:{mocks_port}",
                sut_url=f"http://127.0.0.1:{sib_port}",
            )
            if mocks:
                service = MockService(callback=f"{profile['sut_url']}/cjis/responses")
                stack.enter_context(serving(service, port=mocks_port))
            app = ReferenceSib(profile, cjis_url=f"http://127.0.0.1:{mocks_port}").app
            servers: list[Any] = []
            if dies_after is not None:
                app = _dying(app, dies_after, lambda: servers[0])

            def make(port: int) -> Any:
                servers.append(
                    uvicorn_server(app, port=port, fast_loop=False, log_level="critical")
                )
                return servers[-1]

            stack.enter_context(in_thread(make, port=sib_port))
            path = tmp_path / "sut-profile.json"
            path.write_text(json.dumps(profile))
            return path

        yield start


def _dying(app: Any, bookings: int, server: Callable[[], Any]) -> Any:
    """`app`, until it has taken `bookings` bookings; the next ones it acknowledges (202) and
    drops, and its server stops listening a second later: a SIB that answered and went down."""
    taken = [0]

    async def dying(scope: dict[str, Any], receive: Any, send: Any) -> None:
        booking = scope["type"] == "http" and scope["path"] == "/bookings"
        if booking and scope["method"] == "POST" and taken[0] >= bookings:
            threading.Timer(1.0, lambda: setattr(server(), "should_exit", True)).start()
            await send({"type": "http.response.start", "status": 202, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        taken[0] += booking
        await app(scope, receive, send)

    return dying


def _wait_for(what: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.1)


def _finished(results: Path) -> int:
    """Checks the suite has finished so far (`results.json`, written after each one)."""
    try:
        found = json.loads(results.read_text())["results"]
    except (OSError, ValueError):
        return 0
    return sum(1 for r in found if r["outcome"] in ("passed", "failed", "error"))


def _processes_naming(text: str) -> list[int]:
    """Live processes whose command line holds `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text.encode() in command and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_check_leaves_a_signed_incomplete_report_and_no_suite_running(
    start_sib: StartSib, tmp_path: Path, stop: signal.Signals
) -> None:
    profile = start_sib()
    out = tmp_path / "out"
    run = _interop("check", "--sut-profile", str(profile), "--report-dir", str(out))
    try:
        _wait_for(lambda: _finished(out / "results.json") >= 1 or run.poll() is not None, 120)
        assert run.poll() is None, run.communicate()[0]
        run.send_signal(stop)
        text, _ = run.communicate(timeout=120)
    finally:
        run.kill()
    assert _processes_naming(str(out)) == []
    report = json.loads((out / "report.json").read_text())
    verify(report)
    cause = "terminated" if stop == signal.SIGTERM else "interrupted"
    assert report["stopped"]["cause"] == cause
    assert stop.name in report["stopped"]["reason"]
    assert (report["verdict"], report["complete"]) == ("incomplete", False)
    assert run.returncode == report["exit_code"] == 4, text
    outcomes = [c["outcome"] for c in report["checks"]]
    assert outcomes.count("passed") >= 1
    assert "not-run" in outcomes
    assert set(outcomes) <= {"passed", "not-applicable", "not-run"}
    not_run = [c for c in report["checks"] if c["outcome"] == "not-run"]
    assert all("the run was stopped" in c["message"] for c in not_run)
    assert f"stopped: {report['stopped']['reason']}" in text
    assert text.rstrip().endswith(
        f"verdict: incomplete (exit 4): {report['stopped']['reason']}; a partial run: "
        f"{sum(r['status'] == 'not-run' for r in report['requirements'])} requirements not run; "
        "only a complete run can be conformant"
    )
    for name in ("report.html", "junit.xml", "summary.md"):
        assert report["stopped"]["reason"] in (out / name).read_text(), name


def test_the_suite_stops_by_itself_when_interop_check_is_killed(
    start_sib: StartSib, tmp_path: Path
) -> None:
    profile = start_sib(mocks=True)  # mocks of their own, which go on answering the suite
    mocks_url = json.loads(profile.read_text())["lea_inbox_base"].removesuffix("/lea")
    out = tmp_path / "out"
    # started with SIGINT ignored: the suite's stop (a SIGINT to itself) must still work
    run = _interop("check", "--sut-profile", str(profile), "--report-dir", str(out),
                   "--mocks-url", mocks_url, sigint=signal.SIG_IGN)  # fmt: skip
    try:
        _wait_for(lambda: _finished(out / "results.json") >= 1 or run.poll() is not None, 120)
        assert run.poll() is None, run.communicate()[0]
        assert _processes_naming(str(out))
        run.send_signal(signal.SIGKILL)  # nothing it can catch
        run.communicate(timeout=30)
        began = time.monotonic()
        _wait_for(lambda: not _processes_naming(str(out)), 30)
    finally:
        run.kill()
    assert time.monotonic() - began < 10
    results = json.loads((out / "results.json").read_text())["results"]
    assert any(r["outcome"] == "not-run" and "stopped" in r["message"] for r in results)


def test_a_run_out_of_time_says_so(start_sib: StartSib, tmp_path: Path) -> None:
    profile = start_sib()
    out = tmp_path / "out"
    began = time.monotonic()
    run = _interop("check", "--sut-profile", str(profile), "--report-dir", str(out),
                   "--timeout", "2")  # fmt: skip
    text, _ = run.communicate(timeout=120)
    report = json.loads((out / "report.json").read_text())
    verify(report)
    assert report["stopped"] == {
        "cause": "timeout",
        "reason": "the run ran out of time: --timeout 2 s",
    }
    assert report["verdict"] == "incomplete"
    assert run.returncode == 4, text
    assert time.monotonic() - began < 60
    assert _processes_naming(str(out)) == []


def test_a_report_directory_that_cannot_be_written_is_a_preflight_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    profile = tmp_path / "sut-profile.json"
    nobody = f"http://127.0.0.1:{free_port()}"
    profile.write_text(json.dumps(profile_for("nff", mocks_url=nobody, sut_url=nobody)))
    run = _interop("check", "--sut-profile", str(profile), "--report-dir", str(blocker / "out"))
    text, _ = run.communicate(timeout=120)
    assert run.returncode == 5, text
    assert text.splitlines() == [
        f"preflight: cannot write the report to {blocker / 'out'} (Not a directory): give a "
        "--report-dir you can write to",
        "verdict: error (exit 5): the harness could not test; nothing was checked and no report "
        "written",
    ]


def test_a_sib_that_dies_while_a_check_waits_fails_it_at_once(
    start_sib: StartSib, tmp_path: Path
) -> None:
    profile = start_sib(dies_after=1)  # the preflight's booking, then the check's
    out = tmp_path / "out"
    run = _interop("check", "--sut-profile", str(profile), "--report-dir", str(out),
                   "--requirement", "SUB-1")  # fmt: skip
    text, _ = run.communicate(timeout=300)
    report = json.loads((out / "report.json").read_text())
    (check,) = [c for c in report["checks"] if c["requirement"] == "SUB-1"]
    assert check["outcome"] == "failed", check
    assert "refused connections" in check["message"], check
    assert check["duration"] < budgets()["forward"]["within"] / 4, check
    assert run.returncode == 1, text
