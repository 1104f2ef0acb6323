"""Running the suite: against an outside SIB, or the reference SIB and its faulty variants.

`check()` runs the conformance suite (pytest with this package's plugin) against a SIB and the mock
endpoints; `stage()` starts the mocks and a SIB of ours in threads of this process for a demo or a
self-test.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mocks.servers.server import in_thread, serving, uvicorn_server
from mocks.state.service import MockService
from reports.files import write_all
from reports.model import build_report
from reports.signing import load_or_create_key, sign
from sibs.server import SibServer
from sibs.variants import CORRECT, VARIANTS, sib_class

from .catalog import requirements
from .wire_stage import MailWire

__all__ = [
    "DEMO_BUDGET_FACTOR",
    "DEMO_PROFILES",
    "PYTHON",
    "SELFTEST_BUDGET_FACTOR",
    "STOP_GRACE",
    "WIRES",
    "Stop",
    "check",
    "errors",
    "failed",
    "kill_matrix",
    "profile_for",
    "publish",
    "results",
    "run_variant",
    "selftest",
    "selftest_problems",
    "selftest_runs",
    "stage",
]

PYTHON = (sys.executable, "-P")
"""This Python, for the processes the harness starts: `-P` keeps the working directory off their
import path, so a user's own `schemas/` or `reports/` folder where `interop` runs is never
imported in place of the harness's packages (and relative paths keep meaning that folder)."""

DEMO_PROFILES: dict[str, dict[str, Any]] = {
    "nff": {
        "state": "NC",
        "sib_ori": "NC0000000",
        "nff": True,
        "message_routing": True,
        "activated_oris": [
            *(f"NC0{n:02d}0000" for n in range(10, 21)),
            "NC0100100",  # a sub-agency of the county of NC0100000
            "NC0200100",  # a sub-agency of the county of the opted-out NC0200000
        ],
        "non_activated_oris": ["NC0100200", "NC0300000"],
        "opted_out_oris": ["NC0200000"],
        "nlets_relay": True,
        "blind_booking_oris": ["NC0190000"],  # lacks the authority to retire them (SOP 2.2.7)
    },
    "non-nff": {
        "state": "VA",
        "sib_ori": "VA0000000",
        "nff": False,
        "message_routing": True,
        "activated_oris": [
            *(f"VA0{n:02d}0000" for n in range(10, 21)),
            "VA0100100",  # a sub-agency of the county of VA0100000
            "VA0200100",  # a sub-agency of the county of the opted-out VA0200000
        ],
        "non_activated_oris": ["VA0100200", "VA0300000"],
        "opted_out_oris": ["VA0200000"],
        "nlets_relay": True,
    },
    "routing-off": {
        "state": "SC",
        "sib_ori": "SC0000000",
        "nff": False,
        "message_routing": False,
        "activated_oris": ["SC0100000", "SC0110000", "SC0100100"],
        "non_activated_oris": ["SC0100200"],
        "opted_out_oris": [],
        "nlets_relay": True,
    },
}
"""SUT profiles the demo runs the reference SIB under: NFF, not NFF, and no message routing; each
with the shapes real agencies have (sub-agencies sharing a county's ORI prefix, one of them beside
an opted-out LEA; ORIs of the state not activated for Interoperability)."""


def profile_for(name: str, *, mocks_url: str, sut_url: str) -> dict[str, Any]:
    """A demo SUT profile wired to the given mock endpoints and SIB."""
    return {
        **DEMO_PROFILES[name],
        "lea_inbox_base": f"{mocks_url}/lea",
        "nlets_url": f"{mocks_url}/nlets/messages",
        "sut_url": sut_url,
        "follows_virtual_clock": True,
    }


WIRES = ("json-http", "ebts-smtp")
"""The wires a stage puts our SIB on: JSON over HTTP everywhere, or EBTS files (`MailWire`)."""


@contextmanager
def stage(
    profile_name: str,
    *,
    variant: str = "reference",
    clock: str = "manual",
    wire: str = "json-http",
    evidence: Path | None = None,
) -> Iterator[dict[str, Any]]:
    """Start the mocks and our SIB (`variant`, on a store file) on free loopback ports, on `wire`
    (one of `WIRES`), and a control server that restarts the SIB; yield the SUT profile (with its
    restart command). On the EBTS e-mail wire, with `evidence`: each EBTS file that crossed the
    stage is kept in that folder, with its `index.md` (`wire_stage.WireEvidence`)."""
    if wire not in WIRES:
        raise ValueError(f"wire {wire!r} is not one of {', '.join(WIRES)}")
    with ExitStack() as stack:
        service = MockService(clock=clock)
        mail = MailWire(service, evidence) if wire == "ebts-smtp" else None
        if mail is not None and mail.evidence is not None:
            stack.callback(mail.evidence.write_index)
        mocks_url = stack.enter_context(in_thread(mail.mocks) if mail else serving(service))
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="interop-sib-"))
        host = _SibHost(variant, profile_name, mocks_url, Path(folder, "sib.sqlite3"), mail)
        stack.callback(host.stop)
        control = stack.enter_context(in_thread(host.control))
        restart = f"import urllib.request as r; r.urlopen(r.Request('{control}/restart', "
        restart += "method='POST'), timeout=120)"
        host.profile["restart_command"] = [*PYTHON, "-c", restart]
        service.callback = mail.callback if mail else f"{host.profile['sut_url']}/cjis/responses"
        yield host.profile


class _SibHost:
    """Our SIB in a thread of this process, restarted on its store by `POST /restart`; on the
    e-mail wire when given `mail`."""

    def __init__(
        self, variant: str, profile: str, mocks_url: str, store: Path, mail: MailWire | None
    ) -> None:
        self.variant, self.mocks_url, self.store, self.mail = variant, mocks_url, store, mail
        self._running: ExitStack | None = None
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.profile = profile_for(profile, mocks_url=mocks_url, sut_url=self.url)
        if mail is not None:
            self.profile["wire"] = mail.profile()
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _server(self, port: int) -> Any:
        cls, mail = sib_class(self.variant), self.mail
        gateway = mail.gateway() if mail else None
        sib = cls(self.profile, cjis_url=self.mocks_url, store=self.store, transport=gateway)
        # A faulty SIB that crashes on purpose would fill the terminal with tracebacks.
        quiet = "warning" if self.variant == "reference" else "critical"
        if mail is not None:
            return mail.sib(sib.app, port, log_level=quiet)
        return SibServer(sib, port=port, fast_loop=False, log_level=quiet)

    def start(self) -> None:
        self._running = ExitStack()
        self._running.enter_context(in_thread(self._server, port=self.port))

    def stop(self) -> None:
        if self._running is not None:
            self._running.close()
            self._running = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def control(self, port: int) -> Any:
        async def restart(request: Request) -> Response:
            await run_in_threadpool(self.restart)
            return Response(status_code=204)

        app = Starlette(routes=[Route("/restart", restart, methods=["POST"])])
        return uvicorn_server(app, port=port, fast_loop=False)


STOP_GRACE = 30.0
"""Wall seconds a stopped suite has to write what it found before it is killed."""


class Stop(NamedTuple):
    """Why a run was stopped before its end: `cause` (interrupted, terminated, timeout) and a
    sentence for the report."""

    cause: str
    reason: str


def check(
    profile_path: str | Path,
    *,
    report_dir: str | Path,
    sut_url: str | None = None,
    mocks_url: str | None = None,
    extra: Sequence[str] = (),
    quiet: bool = True,
    timeout: float | None = None,
) -> Stop | None:
    """Run the conformance suite in a fresh Python process; why it was stopped, if it was.

    The run ignores any pytest configuration where it is started, so it behaves the same from a
    state's folder, a vendor's CI or this repository. The plugin's preflight is left to the caller
    (`interop check` runs it before starting the mocks; the demo and self-test stage our own SIB).

    The suite stops with this process: SIGINT or SIGTERM here (Ctrl-C, a CI cancel) or
    `timeout` wall seconds passing interrupt it as Ctrl-C does, once its checks are collected,
    so the checks that finished keep their outcome and the rest are not run; `results.json` then
    says why (`stopped`). The suite has `STOP_GRACE` seconds (none after a second signal) before
    it is killed, and it interrupts itself if this process dies without a word.
    """
    Path(report_dir).mkdir(parents=True, exist_ok=True)
    command = _pytest(profile_path, report_dir, quiet=quiet, extra=["--no-preflight"])
    if sut_url:
        command += ["--sut-url", sut_url]
    if mocks_url:
        command += ["--mocks-url", mocks_url]
    command += list(extra)
    live = sys.stderr.isatty()
    if live:
        command += ["--progress", "--capture=no"]
    with ExitStack() as stack:
        output: dict[str, Any] = {}
        if quiet:
            log = stack.enter_context(Path(report_dir, "pytest.log").open("w"))
            output = {"stdout": log, "stderr": None if live else subprocess.STDOUT}
        # The suite stops when told through a pipe, or when this process is gone (the pipe
        # ends); in a session of its own, so Ctrl-C at a terminal reaches this process only.
        told, tell = os.pipe()
        stack.callback(os.close, tell)
        command += ["--stop-fd", str(told)]
        try:
            suite = subprocess.Popen(command, start_new_session=True, pass_fds=(told,), **output)
        finally:
            os.close(told)
        stop = _supervise(suite, timeout, lambda: _tell(tell))
    if stop is not None:
        _record_stop(Path(report_dir), stop)
    return stop


def _tell(fd: int) -> None:
    """Write to the suite's stop pipe (a suite that has just ended does not mind)."""
    with contextlib.suppress(OSError):
        os.write(fd, b"stop")


_SIGNALS = {
    signal.SIGINT: ("interrupted", "the run was interrupted (SIGINT, Ctrl-C)"),
    signal.SIGTERM: ("terminated", "the run was terminated (SIGTERM, e.g. a cancelled CI job)"),
}


def _supervise(
    suite: subprocess.Popen[Any], timeout: float | None, tell: Callable[[], object]
) -> Stop | None:
    """Wait for the suite; `tell` it to stop on SIGINT or SIGTERM to this process or at
    `timeout`, and kill it `STOP_GRACE` seconds later (or at a second signal)."""
    began = time.monotonic()
    caught: list[int] = []
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for number in _SIGNALS:
            if signal.getsignal(number) is not signal.SIG_IGN:  # e.g. nohup, a background job
                previous[number] = signal.signal(number, lambda n, _: caught.append(n))
    stop, kill_at = None, 0.0
    try:
        while True:
            try:
                suite.wait(timeout=0.1)
                return stop
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if stop is None:
                after = f"{now - began:.0f} s into the checks"
                if caught:
                    cause, said = _SIGNALS[signal.Signals(caught[0])]
                    stop = Stop(cause, f"{said} {after}")
                elif timeout is not None and now - began >= timeout:
                    stop = Stop("timeout", f"the run ran out of time: --timeout {timeout:g} s")
                if stop is not None:
                    tell()
                    kill_at = now + STOP_GRACE
            elif len(caught) > 1 or now >= kill_at:
                suite.kill()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _record_stop(folder: Path, stop: Stop) -> None:
    """Say in `results.json` why the run stopped (when the suite got as far as writing one)."""
    path = folder / "results.json"
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    document["stopped"] = {"cause": stop.cause, "reason": stop.reason}
    path.write_text(json.dumps(document, indent=2))


def publish(
    report_dir: str | Path, *, signing_key: str | None = None, sut_name: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Build the signed report of a run in `report_dir` and write every format beside it.

    Returns the report and whether the key was a throwaway one (no `signing_key` given).
    """
    document = json.loads(Path(report_dir, "results.json").read_text())
    if document.get("clock") is None:
        raise ValueError("the mocks stopped answering before the run's clock could be read")
    key, throwaway = load_or_create_key(signing_key)
    report = build_report(document, requirements(), sut_name=sut_name)
    signed = sign(report, key, throwaway=throwaway)
    write_all(signed, report_dir)
    return signed, throwaway


def results(report_dir: str | Path) -> list[dict[str, Any]]:
    """The check results a run wrote (`results.json`)."""
    document = json.loads(Path(report_dir, "results.json").read_text())
    found: list[dict[str, Any]] = document["results"]
    return found


SELFTEST_BUDGET_FACTOR = 0.02
"""The self-test's budget factor: our SIBs act in milliseconds, or (the seconds-scale back-off
of the correct `background-retry` design) well inside 2% of the catalog's budgets."""
DEMO_BUDGET_FACTOR = 0.05
"""The demo's budget factor: the reference SIB acts in milliseconds; quiet periods shrink."""


def run_variant(
    variant: str,
    folder: str | Path,
    *,
    profile: str | None = None,
    clock: str = "manual",
    budget_factor: float = SELFTEST_BUDGET_FACTOR,
    run_seed: int = 0,
    only: Sequence[str] = (),
    wire: str = "json-http",
) -> list[dict[str, Any]]:
    """Run the suite (or `only` these requirements' checks), in an order drawn from `run_seed`,
    against our SIB `variant` under `profile` (default: the variant's demo profile) on `wire`;
    its results."""
    cls = sib_class(variant)
    Path(folder).mkdir(parents=True, exist_ok=True)
    extra = ["--budget-factor", str(budget_factor), "--run-seed", str(run_seed), "--random-order"]
    extra += [arg for rid in only for arg in ("--requirement", rid)]
    with stage(profile or cls.demo_profile, variant=variant, clock=clock, wire=wire) as sut:
        path = Path(folder, "sut-profile.json")
        path.write_text(json.dumps(sut, indent=2))
        _suite(path, Path(folder), extra)
    return results(folder)


def _pytest(
    profile: str | Path,
    report_dir: str | Path,
    *,
    quiet: bool = True,
    extra: Sequence[str] = (),
    plugin: Sequence[str] = (),
) -> list[str]:
    """The command line of one suite run (`plugin`: pytest plugins to load by name): this Python
    (`PYTHON`), pytest's configuration and cache kept out of the working directory."""
    return [
        *PYTHON, "-m", "pytest", *plugin, "--pyargs", "conformance.suite", "-p", "no:cacheprovider",
        "--sut-profile", str(profile), "--report-dir", str(report_dir),
        "-c", os.devnull, "--rootdir", str(report_dir), "-q" if quiet else "-v", "-rfE", *extra,
    ]  # fmt: skip


def _suite(profile: Path, folder: Path, extra: list[str]) -> int:
    """`check()` for the self-test: the same run, with only our plugin loaded (other installed
    pytest plugins cost seconds of imports per run and the self-test makes dozens)."""
    command = _pytest(profile, folder, extra=extra, plugin=["-p", "conformance.plugin"])
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    with Path(folder, "pytest.log").open("w") as log:
        return subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def failed(found: list[dict[str, Any]]) -> set[str]:
    """The requirement IDs with a failing check (the SIB broke the rule) in a run's results."""
    return {r["requirement"] for r in found if r["outcome"] == "failed"}


def errors(found: list[dict[str, Any]]) -> set[str]:
    """The requirement IDs with a check the harness could not carry out."""
    return {r["requirement"] for r in found if r["outcome"] == "error"}


def _label(run: str) -> tuple[str, str | None]:
    """A self-test run's variant and profile (`async-routing@nff`; a bare name: its demo one)."""
    variant, _, profile = run.partition("@")
    return variant, profile or None


def selftest_runs(
    *, full: bool = False, wire: str = "json-http"
) -> dict[str, tuple[str, str | None, tuple[str, ...]]]:
    """The self-test's runs by label: the reference and every correct design under every demo
    profile, the whole suite each; each faulty variant whose defect shows on `wire` under its demo
    profile, the checks of the rules it breaks (every check with `full`)."""
    runs: dict[str, tuple[str, str | None, tuple[str, ...]]] = {}
    for name in ("reference", *CORRECT):
        for profile in DEMO_PROFILES:
            runs[f"{name}@{profile}"] = (name, profile, ())
    for name, cls in VARIANTS.items():
        if wire in (cls.only_on or WIRES):
            runs[name] = (name, None, () if full else cls.breaks)
    return runs


def selftest_problems(runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    """What the self-test found wrong: a false alarm (a correct design failing or erroring any
    check), or a faulty variant not failed by a check of a rule it breaks."""
    problems = []
    for label, found in runs.items():
        cls = sib_class(_label(label)[0])
        bad = failed(found) | errors(found)
        if cls.correct and bad:
            problems.append(f"false alarm: {label} fails {sorted(bad)}")
        elif not cls.correct and not failed(found) & set(cls.breaks):
            problems.append(f"{label} is not caught by a check of {sorted(cls.breaks)}")
    return problems


def selftest(
    folder: str | Path,
    *,
    jobs: int = 2,
    run_seed: int = 0,
    budget_factor: float | None = None,
    full: bool = False,
    wire: str = "json-http",
) -> tuple[str, bool]:
    """Run the self-test (`selftest_runs`) `jobs` at a time, every SIB on `wire`; the kill matrix
    with its verdict, and whether it passed (no false alarm, every faulty SIB caught by its rule's
    check)."""
    plan = selftest_runs(full=full, wire=wire)
    factor = budget_factor or SELFTEST_BUDGET_FACTOR
    began = time.monotonic()

    def one(label: str) -> list[dict[str, Any]]:
        variant, profile, only = plan[label]
        return run_variant(variant, Path(folder, label), profile=profile, only=only,
                           run_seed=run_seed, budget_factor=factor, wire=wire)  # fmt: skip

    with ThreadPoolExecutor(jobs) as pool:
        runs = dict(zip(plan, pool.map(one, plan), strict=True))
    problems = selftest_problems(runs)
    faulty = [label for label in plan if "@" not in label]
    missed = sum(1 for p in problems if "not caught" in p)
    alarms = len(problems) - missed
    lines = [kill_matrix(runs), *(f"SELFTEST FAIL: {p}" for p in problems)]
    elsewhere = sorted(set(VARIANTS) - set(faulty))
    if elsewhere:
        lines.append(f"not on {wire} (their defect does not show on it): {', '.join(elsewhere)}")
    lines.append(
        f"selftest: {len(faulty) - missed} of {len(faulty)} faulty SIBs caught by the check of "
        f"the rule they break; {len(plan) - len(faulty) - alarms} of {len(plan) - len(faulty)} "
        f"correct-design runs clean; wire {wire}, run seed {run_seed}, budget factor {factor}; "
        f"{time.monotonic() - began:.1f} s wall"
    )
    return "\n".join(lines), not problems


_RANK = ("not-run", "not-applicable", "passed", "skipped", "error", "failed")
"""A requirement's cell shows its worst check: a failure over an error over a pass."""


def kill_matrix(runs: dict[str, list[dict[str, Any]]]) -> str:
    """The matrix of variants (rows) by requirement (columns): X where a check failed."""
    found_ids = {r["requirement"] for found in runs.values() for r in found}
    columns = sorted(found_ids, key=lambda rid: (rid[:3], int(rid[4:]) if rid[4:].isdigit() else 0))
    width = max(len(name) for name in runs)
    lines = [" " * width + " " + " ".join(c.ljust(5) for c in columns)]
    for variant, found in runs.items():
        outcome: dict[str, str] = {}
        for r in found:
            now = outcome.get(r["requirement"], "")
            if _RANK.index(r["outcome"]) > (_RANK.index(now) if now in _RANK else -1):
                outcome[r["requirement"]] = r["outcome"]
        wanted = set(sib_class(_label(variant)[0]).breaks)
        cells = []
        for column in columns:
            state = outcome.get(column, "")
            marks = {"failed": "X", "error": "E", "not-applicable": "-", "not-run": " ", "": " "}
            mark = marks.get(state, ".")
            cells.append((mark + ("*" if column in wanted else "")).ljust(5))
        lines.append(variant.ljust(width) + " " + " ".join(cells))
    lines.append(
        "X: a check failed   E: could not be carried out   .: passed   -: not applicable   "
        "blank: not run   *: the rule the variant breaks"
    )
    return "\n".join(lines)
