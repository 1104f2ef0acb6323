"""The conformance suite's run options and the fixtures that wait within the catalog's budgets.

`--run-seed` seeds each check's synthetic data together with the check's name (nothing else, so
the same run seed books the same people wherever the report goes) and, with `--random-order`, the
order of the checks. `--budget-factor` multiplies every wall-clock budget and quiet period of the
catalog; the plugin writes it to `results.json` with the seed, so a report says how strict its run
was.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

from .catalog import budgets, by_check
from .harness import Lea, Mocks
from .traffic import Traffic, Watch

__all__ = [
    "BUDGET_FACTOR_DEFAULT",
    "pytest_addoption",
    "pytest_collection_modifyitems",
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


@pytest.fixture
def watch(
    request: pytest.FixtureRequest, mocks: Mocks, sut_profile: dict[str, Any], sut_url: str
) -> Watch:
    """The time budgets this check's requirement names, scaled by `--budget-factor`; a wait
    ends early when the SIB at `sut_url` has gone (`Watch.until`)."""
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
        sut_url=sut_url,
    )


@pytest.fixture
def traffic(mocks: Mocks, lea: Lea, watch: Watch) -> Traffic:
    """This check's bookings and responses, waited for within its budgets."""
    return Traffic(mocks, lea, watch)
