"""The pytest plugin of the conformance suite: options, fixtures, the `requirement` marker, the
preflight, and results kept as data (in `config.stash`) and written to `--report-dir` as
`results.json`.

Each check ends `passed`, `failed`, `error`, `not-applicable` or `not-run` (filtered out by
`--requirement`); `conformance.outcomes` says which and why, in domain words.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol.profile import load_sut_profile

from . import preflight
from .catalog import applies, by_check, requirements
from .harness import Lea, Mocks, check_seed
from .outcomes import classify
from .progress import RunProgress

__all__ = [
    "EVIDENCE",
    "PROGRESS",
    "RESULTS",
    "RUN",
    "STOPPABLE",
    "lea",
    "mocks",
    "oris",
    "pytest_addoption",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_plugins",
    "pytest_runtest_logreport",
    "pytest_runtest_makereport",
    "pytest_runtest_protocol",
    "pytest_sessionfinish",
    "sut_profile",
    "sut_url",
]

pytest_plugins = ["conformance.runplugin"]
"""The run seed, random order, time budgets and the check's traffic (`conformance.runplugin`)."""

RESULTS = pytest.StashKey[list[dict[str, Any]]]()
EVIDENCE = pytest.StashKey[dict[str, list[dict[str, Any]]]]()
RUN = pytest.StashKey[dict[str, Any]]()
PROGRESS = pytest.StashKey[RunProgress]()
STOPPABLE = pytest.StashKey[tuple[threading.Event, threading.Event]]()
"""Set once the checks are collected, and once the run is writing its results."""
_EVIDENCE_FIELDS = ("id", "channel", "direction", "tot", "tcn", "tcr", "ori", "virtual_time")
_SUITE = "conformance.suite"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("interop", "IDENT/IAFIS Interoperability conformance")
    group.addoption("--sut-url", default=os.environ.get("SUT_URL"), help="the SIB under test")
    group.addoption(
        "--sut-profile", default=os.environ.get("SUT_PROFILE"), help="the SUT profile (JSON)"
    )
    group.addoption("--mocks-url", default=os.environ.get("MOCKS_URL"), help="the mock endpoints")
    group.addoption("--mocks-token", default=os.environ.get("INTEROP_ADMIN_TOKEN"))
    group.addoption("--clock", default="manual", help="the mocks' clock (informational)")
    group.addoption("--report-dir", default=None, help="where results.json is written")
    group.addoption(
        "--progress", action="store_true", help="a live progress line on standard error"
    )
    group.addoption(
        "--requirement", action="append", default=[], help="run only these requirement IDs"
    )
    group.addoption(
        "--no-preflight",
        action="store_true",
        help="skip the preflight (SIB and mocks answer, a booking reaches the mock CJIS)",
    )
    group.addoption(
        "--preflight-budget",
        type=float,
        default=30.0,
        help="wall seconds a preflight booking has to reach the mock CJIS (default: 30)",
    )
    group.addoption(
        "--stop-fd",
        type=int,
        default=None,
        help="a pipe to read: a byte or its end (the process holding it gone) stops the run as "
        "Ctrl-C does, once the checks are collected (interop check passes one)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(id): the catalog requirement a conformance check covers"
    )
    config.stash[RESULTS] = []
    config.stash[EVIDENCE] = {}
    config.stash[RUN] = {"started_wall": _now()}
    config.stash[STOPPABLE] = (threading.Event(), threading.Event())
    stop_fd = config.getoption("--stop-fd", None)
    if stop_fd is not None:
        # Started in the background by a shell or a CI runner, this process may have inherited
        # SIGINT ignored; the stop below is a SIGINT to itself, so it must not be.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.default_int_handler)
        threading.Thread(
            target=_stop_when_told, args=(stop_fd, *config.stash[STOPPABLE]), daemon=True
        ).start()


def _stop_when_told(fd: int, collected: threading.Event, finishing: threading.Event) -> None:
    """Interrupt this run (SIGINT: the checks that finished keep their outcome, the others are
    not run) once the pipe `fd` says so or its writer is gone: as soon as the checks are
    `collected`, unless the run is `finishing` already."""
    with contextlib.suppress(OSError):
        os.read(fd, 1)
    collected.wait()
    if not finishing.is_set():
        os.kill(os.getpid(), signal.SIGINT)


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[STOPPABLE][0].set()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _name(item: pytest.Item) -> str:
    return str(getattr(item, "originalname", item.name))


def _in_suite(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return module is not None and module.__name__.startswith(_SUITE)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    suite = [item for item in items if _in_suite(item)]
    if not suite:
        return
    path = config.getoption("--sut-profile")
    if not path:
        raise pytest.UsageError("the conformance suite needs --sut-profile (or SUT_PROFILE)")
    profile = load_sut_profile(path)
    wanted = set(config.getoption("--requirement"))
    unknown = sorted(wanted - {r["id"] for r in requirements()})
    if unknown:
        raise pytest.UsageError(f"unknown requirement {', '.join(unknown)}")
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("requirement")
        if not _in_suite(item):
            keep.append(item)
            continue
        if marker is None:
            raise pytest.UsageError(f"{item.nodeid} names no requirement")
        requirement_id = marker.args[0]
        requirement = by_check().get(_name(item))
        if requirement is None or requirement["id"] != requirement_id:
            raise pytest.UsageError(f"{item.nodeid}: not in the catalog under {requirement_id}")
        if (wanted and requirement_id not in wanted) or not applies(requirement, profile):
            drop.append(item)
            outcome = "not-run" if wanted and requirement_id not in wanted else "not-applicable"
            config.stash[RESULTS].append(
                {"check": _name(item), "requirement": requirement_id,
                 "outcome": outcome, "duration": 0.0, "message": ""}
            )  # fmt: skip
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    _begin(config, profile, run_checks=any(_in_suite(i) for i in items))
    if config.getoption("--progress"):
        run = config.stash[RUN]

        def virtual_now() -> str:
            mocks = run.get("mocks")
            return str(mocks.http.get("/admin/clock").json()["now"]) if mocks else "?"

        config.stash[PROGRESS] = RunProgress(sum(1 for i in items if _in_suite(i)), virtual_now)


def _begin(config: pytest.Config, profile: dict[str, Any], *, run_checks: bool) -> None:
    """Before the first check: what the run is about, and the preflight (unless
    `--no-preflight` or only collecting)."""
    sut = config.getoption("--sut-url") or profile.get("sut_url")
    base = _mocks_base(config, profile)
    token = config.getoption("--mocks-token")
    run = config.stash[RUN]
    run.update(sut_url=str(sut).rstrip("/") if sut else None, profile=profile, mocks_base=base)
    skip = config.getoption("--no-preflight") or config.getoption("--collect-only")
    if run_checks and sut and not skip:
        problems = preflight.network(sut_url=sut, mocks_url=base, token=token)
        if not problems:
            found = preflight.round_trip(mocks_url=base, sut_url=sut, profile=profile,
                                         budget=config.getoption("--preflight-budget"),
                                         token=token)  # fmt: skip
            problems = [found] if found else []
        if problems:
            raise pytest.UsageError("preflight: " + "\npreflight: ".join(p.line for p in problems))


def _mocks_base(config: pytest.Config, profile: dict[str, Any]) -> str:
    base = config.getoption("--mocks-url")
    return str(base) if base else str(profile["lea_inbox_base"]).rstrip("/").removesuffix("/lea")


def _clock(config: pytest.Config) -> dict[str, Any] | None:
    """The mocks' clock now, for a run in which no check started them."""
    run = config.stash[RUN]
    token = config.getoption("--mocks-token")
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        found: dict[str, Any] = httpx.get(
            f"{run['mocks_base']}/admin/clock", headers=headers, timeout=5
        ).json()
    except (httpx.HTTPError, ValueError, KeyError):
        return None
    return found


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    properties = dict(report.user_properties)
    requirement = properties.get("requirement")
    if requirement is None:
        return
    config: pytest.Config = report.config
    outcome = str(properties.get("outcome", report.outcome))
    if report.skipped:
        outcome = "not-applicable"
    progress = config.stash.get(PROGRESS, None)
    if progress is not None:
        progress.done(outcome)
    config.stash[RESULTS].append(
        {
            "check": report.head_line or report.nodeid,
            "requirement": requirement,
            "outcome": outcome,
            "duration": round(report.duration, 3),
            "message": str(properties.get("reason", "")),
            "highlight": [str(i) for i in properties.get("highlight", [])],  # type: ignore[attr-defined]
        }
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    marker = item.get_closest_marker("requirement")
    if marker is not None and _in_suite(item):
        report.user_properties.append(("requirement", marker.args[0]))
        report.config = item.config
        if call.excinfo is not None and report.failed:
            found = classify(call.excinfo.value, when=call.when,
                             sut_url=item.config.stash[RUN].get("sut_url"))  # fmt: skip
            report.user_properties += [
                ("outcome", found.outcome), ("reason", found.reason),
                ("highlight", list(found.evidence)),
            ]  # fmt: skip
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Note which check is under way, and write `results.json` after each one: a run stopped
    hard keeps the outcomes of the checks that finished."""
    run = item.config.stash[RUN]
    run["current"] = item.location[2]
    result = yield
    run.pop("current", None)
    mocks = run.get("mocks")
    if mocks is not None:
        with contextlib.suppress(httpx.HTTPError):
            run["finished_virtual"] = mocks.http.get("/admin/clock").json()["now"]
        _write_results(item.config)
    return result


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    config.stash[STOPPABLE][1].set()
    progress = config.stash.get(PROGRESS, None)
    if progress is not None:
        progress.close()
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        _not_run(config, session.items)
    run = config.stash.get(RUN, {})
    if run.get("clock") is None and run.get("mocks_base"):
        clock = _clock(config)
        if clock is not None:
            run.update(clock={"mode": clock["mode"], "scale": clock["scale"]},
                       started_virtual=clock["now"], finished_virtual=clock["now"])  # fmt: skip
    if run.get("finished_virtual") is None:
        run["finished_virtual"] = run.get("started_virtual")
    _write_results(config)


def _not_run(config: pytest.Config, items: list[pytest.Item]) -> None:
    """After an interrupted run: each check that did not finish, as not run."""
    results = config.stash.get(RESULTS, [])
    done = {r["check"] for r in results}
    current = config.stash.get(RUN, {}).get("current")
    for item in items:
        marker = item.get_closest_marker("requirement")
        name = item.location[2]
        if marker is None or not _in_suite(item) or name in done:
            continue
        when = "during" if name == current else "before"
        results.append(
            {"check": name, "requirement": marker.args[0], "outcome": "not-run", "duration": 0.0,
             "message": f"not run: the run was stopped {when} this check"}
        )  # fmt: skip


def _write_results(config: pytest.Config) -> None:
    """`results.json` in `--report-dir`: the checks so far with their evidence, the run's
    clock, budgets and seed."""
    results = config.stash.get(RESULTS, [])
    folder = config.getoption("--report-dir", None)
    if not results or not folder:
        return
    run = config.stash.get(RUN, {})
    evidence = config.stash.get(EVIDENCE, {})
    for result in results:
        result["evidence"] = evidence.get(result["check"].split("[")[0], [])
    document = {
        "results": results,
        "started": {"wall": run.get("started_wall"), "virtual": run.get("started_virtual")},
        "finished": {"wall": _now(), "virtual": run.get("finished_virtual")},
        "clock": run.get("clock"),
        "sut_url": run.get("sut_url"),
        "profile": run.get("profile"),
        "run_seed": config.getoption("--run-seed"),
        "budget_factor": config.getoption("--budget-factor"),
        "random_order": config.getoption("--random-order"),
    }
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = Path(folder, "results.json")
    partial = path.with_name(".results.json.partial")
    partial.write_text(json.dumps(document, indent=2))
    partial.replace(path)


@pytest.fixture(scope="session")
def sut_profile(pytestconfig: pytest.Config) -> dict[str, Any]:
    """The SUT profile (`--sut-profile`)."""
    return load_sut_profile(pytestconfig.getoption("--sut-profile"))


@pytest.fixture(scope="session")
def sut_url(pytestconfig: pytest.Config, sut_profile: dict[str, Any]) -> str:
    """The SIB under test (`--sut-url`, else the profile's `sut_url`)."""
    url = pytestconfig.getoption("--sut-url") or sut_profile.get("sut_url")
    if not url:
        raise pytest.UsageError("give --sut-url (or SUT_URL, or sut_url in the profile)")
    return str(url).rstrip("/")


@pytest.fixture(scope="session")
def _mocks_session(
    pytestconfig: pytest.Config, sut_profile: dict[str, Any], sut_url: str
) -> Iterator[Mocks]:
    base = pytestconfig.getoption("--mocks-url")
    if not base:
        inbox = sut_profile["lea_inbox_base"].rstrip("/")
        base = inbox.removesuffix("/lea")
    mocks = Mocks(
        base,
        sut_profile,
        sut_url,
        pytestconfig.getoption("--mocks-token"),
    )
    run = pytestconfig.stash[RUN]
    run.update(
        clock={"mode": mocks.clock["mode"], "scale": mocks.clock["scale"]},
        started_virtual=mocks.clock["now"],
        sut_url=sut_url,
        profile=sut_profile,
        mocks=mocks,
    )
    yield mocks
    try:
        run["finished_virtual"] = mocks.http.get("/admin/clock").json()["now"]
    except httpx.HTTPError:
        run["finished_virtual"] = None
    run.pop("mocks", None)
    mocks.close()


@pytest.fixture
def mocks(request: pytest.FixtureRequest, _mocks_session: Mocks) -> Iterator[Mocks]:
    """The mock federal endpoints, reset with the profile's scenario before each check; what the
    check left in the ledger is kept as its evidence."""
    _mocks_session.reset()
    yield _mocks_session
    entries = _mocks_session.entries()
    evidence = [{k: e.get(k) for k in _EVIDENCE_FIELDS} for e in entries]
    request.config.stash[EVIDENCE][_name(request.node)] = evidence


@pytest.fixture
def lea(request: pytest.FixtureRequest, sut_url: str, mocks: Mocks) -> Iterator[Lea]:
    """A local LEA booking synthetic people into the SIB (seeded per check)."""
    seed = check_seed(request.node.name, request.config.getoption("--run-seed"))
    booker = Lea(sut_url, mocks, seed)
    yield booker
    booker.close()


@pytest.fixture
def oris(sut_profile: dict[str, Any]) -> list[str]:
    """Activated ORIs that did not turn receipt off: where responses must arrive."""
    opted_out = set(sut_profile.get("opted_out_oris", []))
    usable = [o for o in sut_profile["activated_oris"] if o not in opted_out]
    if not usable:
        pytest.fail("the SUT profile lists no activated ORI that receives responses")
    return usable
