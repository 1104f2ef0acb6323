"""Time budgets as the checks apply them, and data seeded from the check and the run only."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from conformance.catalog import budgets, requirements
from conformance.finding import Finding
from conformance.harness import check_seed
from conformance.traffic import GONE_AFTER, GONE_SPACING, CannotCheck, Watch
from mocks.servers.server import free_port


def _watch(**options: Any) -> Watch:
    return Watch({name: budgets()[name] for name in ("route", "keep")}, **options)


def test_every_requirement_with_a_time_element_names_known_budgets() -> None:
    named = {name for r in requirements() for name in r.get("budgets", [])}
    assert named <= set(budgets())
    assert {"forward", "route", "retry", "inbox", "keep"} <= named
    for spec in budgets().values():
        assert spec["sources"], spec


def test_the_factor_scales_wall_budgets_and_quiet_periods_not_virtual_ones() -> None:
    whole, tenth = _watch(), _watch(factor=0.1)
    assert tenth.budget("route").within == pytest.approx(whole.budget("route").within * 0.1)
    assert tenth.budget("route").quiet < whole.budget("route").quiet
    assert tenth.budget("keep").within == whole.budget("keep").within == 48 * 3600


def test_a_check_may_wait_only_for_its_requirements_budgets() -> None:
    with pytest.raises(CannotCheck, match="retry"):
        _watch().budget("retry")


def test_until_returns_as_soon_as_the_effect_is_seen() -> None:
    seen = iter([None, None, "routed"])
    began = time.monotonic()
    assert _watch().until(lambda: next(seen), "route") == "routed"
    assert time.monotonic() - began < 5


def test_until_gives_up_when_the_budget_runs_out() -> None:
    watch = _watch(factor=0.2 / budgets()["route"]["within"])
    began = time.monotonic()
    assert watch.until(list, "route") == []
    assert 0.15 <= time.monotonic() - began < 5


def test_a_wait_ends_at_once_when_the_sib_refuses_connections() -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    began = time.monotonic()
    with pytest.raises(Finding, match=rf"refused connections {GONE_AFTER} times in a row"):
        _watch(sut_url=gone).until(list, "route")
    took = time.monotonic() - began
    assert GONE_SPACING * (GONE_AFTER - 1) <= took < budgets()["route"]["within"] / 10


def test_a_wait_goes_on_while_the_sib_listens_or_may_be_restarting() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        here = f"http://127.0.0.1:{listening.getsockname()[1]}"
        window = 1.5 * GONE_SPACING * GONE_AFTER / budgets()["route"]["within"]
        assert _watch(sut_url=here, factor=window).until(list, "route") == []
    gone = f"http://127.0.0.1:{free_port()}"
    assert _watch(sut_url=gone, factor=window).until(list, "route", sib_may_be_down=True) == []


def test_virtual_budgets_need_a_sib_that_follows_the_virtual_clock() -> None:
    assert _watch(time_faithful=True).virtual("keep") == 48 * 3600
    assert _watch(time_faithful=False, clock_mode="realtime").virtual("keep") == 48 * 3600
    with pytest.raises(CannotCheck, match="--clock realtime"):
        _watch(time_faithful=False, clock_mode="manual").virtual("keep")


def test_check_data_is_seeded_by_check_name_and_run_seed_only() -> None:
    here = check_seed("test_x[http-503]", 0)
    assert here == check_seed("test_x[http-503]", 0)
    assert here != check_seed("test_x[http-503]", 1)
    assert here != check_seed("test_x[http-500]", 0)
