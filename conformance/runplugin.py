"""The conformance suite's run options and the fixtures that wait within the catalog's budgets.

`--run-seed` seeds each check's synthetic data together with the check's name (nothing else, so
the same run seed books the same people wherever the report goes) and, with `--random-order`, the
order of the checks. `--budget-factor` multiplies every wall-clock budget and quiet period of the
catalog; it is written to `results.json` with the seed, so a report says how strict its run was.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from .catalog import budgets, by_check
from .harness import Lea, Mocks
from .traffic import Traffic, Watch

__all__ = [
    "BUDGET_FACTOR_DEFAULT",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_sessionfinish",
    "traffic",
    "watch",
]


BUDGET_FACTOR_DEFAULT = 1.0
"""A certification run waits for every budget whole; a factor below 1 shortens them."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("interop", "IDENT/IAFIS Interoperability conformance")
    group.addoption(
        "--run-seed",
        type=int,
        default=int(os.environ.get("INTEROP_RUN_SEED", "0")),
        help="seeds each check's synthetic data (with the check's name) and the random order",
    )
    group.addoption(
        "--random-order", action="store_true", help="run the checks in an order drawn from the seed"
    )
    group.addoption(
        "--budget-factor",
        type=float,
        default=float(os.environ.get("INTEROP_BUDGET_FACTOR", BUDGET_FACTOR_DEFAULT)),
        help="multiply every wall-clock budget and quiet period of the catalog (recorded; "
        "or INTEROP_BUDGET_FACTOR)",
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--random-order"):
        random.Random(config.getoption("--run-seed")).shuffle(items)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    folder = session.config.getoption("--report-dir", None)
    path = Path(folder, "results.json") if folder else None
    if path is None or not path.exists():
        return
    document = json.loads(path.read_text())
    document["run_seed"] = session.config.getoption("--run-seed")
    document["budget_factor"] = session.config.getoption("--budget-factor")
    document["random_order"] = session.config.getoption("--random-order")
    path.write_text(json.dumps(document, indent=2))


@pytest.fixture
def watch(request: pytest.FixtureRequest, mocks: Mocks, sut_profile: dict[str, Any]) -> Watch:
    """The time budgets this check's requirement names, scaled by `--budget-factor`."""
    marker = request.node.get_closest_marker("requirement")
    names = set()
    for requirement in by_check().values():
        if marker is not None and requirement["id"] == marker.args[0]:
            names = set(requirement.get("budgets", []))
    allowed = {name: spec for name, spec in budgets().items() if name in names}
    return Watch(
        allowed,
        factor=request.config.getoption("--budget-factor"),
        time_faithful=bool(sut_profile.get("follows_virtual_clock", False)),
        clock_mode=str(mocks.clock["mode"]),
    )


@pytest.fixture
def traffic(mocks: Mocks, lea: Lea, watch: Watch) -> Traffic:
    """This check's bookings and responses, waited for within its budgets."""
    return Traffic(mocks, lea, watch)
