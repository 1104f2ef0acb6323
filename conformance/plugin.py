"""The pytest plugin of the conformance suite: options, fixtures, the `requirement` marker, and
results kept as data (in `config.stash`) and written to `--report-dir` as `results.json`."""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.profile import load_sut_profile

from .catalog import applies, by_check
from .harness import Lea, Mocks

__all__ = [
    "RESULTS",
    "lea",
    "mocks",
    "oris",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_logreport",
    "pytest_runtest_makereport",
    "pytest_sessionfinish",
    "sut_profile",
    "sut_url",
]

RESULTS = pytest.StashKey[list[dict[str, Any]]]()
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
        "--settle-seconds",
        type=float,
        default=2.0,
        help="how long to wait for the SIB to route what it was sent (wall seconds)",
    )
    group.addoption(
        "--requirement", action="append", default=[], help="run only these requirement IDs"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(id): the catalog requirement a conformance check covers"
    )
    config.stash[RESULTS] = []


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
            if not wanted or requirement_id in wanted:
                config.stash[RESULTS].append(
                    {"check": _name(item), "requirement": requirement_id,
                     "outcome": "not-applicable", "duration": 0.0, "message": ""}
                )  # fmt: skip
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    requirement = dict(report.user_properties).get("requirement")
    if requirement is None:
        return
    config: pytest.Config = report.config
    config.stash[RESULTS].append(
        {
            "check": report.head_line or report.nodeid,
            "requirement": requirement,
            "outcome": "error" if report.when == "setup" else report.outcome,
            "duration": round(report.duration, 3),
            "message": report.longreprtext[-2000:] if report.failed else "",
        }
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    marker = item.get_closest_marker("requirement")
    if marker is not None and _in_suite(item):
        report.user_properties.append(("requirement", marker.args[0]))
        report.config = item.config
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    results = session.config.stash.get(RESULTS, [])
    folder = session.config.getoption("--report-dir", None)
    if not results or not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    document = {"results": results, "finished": time.time()}
    Path(folder, "results.json").write_text(json.dumps(document, indent=2))


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
        pytestconfig.getoption("--settle-seconds"),
    )
    yield mocks
    mocks.close()


@pytest.fixture
def mocks(_mocks_session: Mocks) -> Mocks:
    """The mock federal endpoints, reset with the profile's scenario before each check."""
    _mocks_session.reset()
    return _mocks_session


@pytest.fixture
def lea(request: pytest.FixtureRequest, sut_url: str, mocks: Mocks) -> Iterator[Lea]:
    """A local LEA booking synthetic people into the SIB (seeded per check)."""
    seed = zlib.crc32(request.node.nodeid.encode())
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
