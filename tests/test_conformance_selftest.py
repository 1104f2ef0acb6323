"""The suite proves itself: every correct design passes every check (no false alarm), and each
faulty SIB fails the check of the rule it breaks (the kill matrix, one row per test)."""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

import pytest

from conformance.catalog import by_check, requirements
from conformance.run import (
    DEMO_PROFILES,
    errors,
    failed,
    kill_matrix,
    run_variant,
    selftest_problems,
    selftest_runs,
)
from sibs.reference import ReferenceSib
from sibs.variants import CORRECT, VARIANTS, sib_class


def _suite_checks() -> dict[str, str]:
    """Every check in the suite with the requirement its marker names."""
    found: dict[str, str] = {}
    for entry in resources.files("conformance.suite").iterdir():
        if not (entry.name.startswith("test_") and entry.name.endswith(".py")):
            continue
        for node in ast.parse(entry.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                marks = [
                    d.args[0].value
                    for d in node.decorator_list
                    if isinstance(d, ast.Call)
                    and isinstance(d.func, ast.Attribute)
                    and d.func.attr == "requirement"
                    and isinstance(d.args[0], ast.Constant)
                ]
                assert len(marks) == 1, f"{node.name} names {len(marks)} requirements"
                found[node.name] = str(marks[0])
    return found


def test_every_requirement_has_a_check_and_every_check_a_requirement() -> None:
    checks = _suite_checks()
    assert set(checks) == set(by_check()), "catalog and suite list different checks"
    for name, requirement in checks.items():
        assert by_check()[name]["id"] == requirement
    assert {r["id"] for r in requirements()} == set(checks.values())


def test_fifty_plausible_faulty_sibs_break_every_requirement_between_them() -> None:
    assert len(VARIANTS) >= 50
    broken = {rid for cls in VARIANTS.values() for rid in cls.breaks}
    assert broken == {r["id"] for r in requirements()}
    for cls in VARIANTS.values():
        assert cls.demo_profile in DEMO_PROFILES
        assert cls.breaks
        assert not cls.correct
        assert cls.__doc__, cls.name
        assert cls.__doc__ != ReferenceSib.__doc__, cls.name
    assert all(cls.correct and not cls.breaks for cls in CORRECT.values())
    assert len(CORRECT) >= 5


def test_the_self_test_plan_and_its_verdicts() -> None:
    plan = selftest_runs()
    assert {label for label in plan if "@" in label} == {
        f"{name}@{profile}" for name in ("reference", *CORRECT) for profile in DEMO_PROFILES
    }
    assert plan["no-retry"] == ("no-retry", None, ("ROB-1",))
    assert selftest_runs(full=True)["no-retry"][2] == ()
    passed = {"requirement": "ROB-1", "outcome": "passed", "check": "c"}
    fail = {**passed, "outcome": "failed"}
    error = {**passed, "outcome": "error"}
    assert selftest_problems({"no-retry": [fail], "reference@nff": [passed]}) == []
    assert selftest_problems({"no-retry": [error]}) == [
        "no-retry is not caught by a check of ['ROB-1']"
    ]
    assert selftest_problems({"async-routing@nff": [error]})[0].startswith("false alarm")
    matrix = kill_matrix({"no-retry": [fail], "reference@nff": [passed]})
    assert "X*" in matrix.splitlines()[1]


_BY_EMAIL = [
    "no-retry-on-reset",
    "short-timeout-new-tcn",
    "retries-400",
    "resubmits-after-errt",
    "crashes-on-malformed",
    "accepts-invalid-delivery",
    "outbox-in-memory",
    "routes-duplicates",
    "dedupe-race",
    "drops-early-iar",
]
"""The faulty SIBs run on the e-mail wire too: those whose rule touches the transport (outages,
refusals, bad deliveries, restarts, duplicates, order), within CI's time. `interop selftest
--wire ebts-smtp` runs them all (retries-only-503 among them, 20-30 s on its own)."""


@pytest.mark.parametrize(
    ("variant", "wire"),
    [(v, "json-http") for v in VARIANTS] + [(v, "ebts-smtp") for v in _BY_EMAIL],
)
def test_each_faulty_sib_fails_the_checks_of_the_rule_it_breaks(
    variant: str, wire: str, tmp_path: Path
) -> None:
    breaks = sib_class(variant).breaks
    found = run_variant(variant, tmp_path, only=breaks, run_seed=7, wire=wire)
    missed = set(breaks) - failed(found)
    assert not missed, f"{variant} passes the checks of {sorted(missed)} on {wire}"


def test_a_variant_whose_defect_does_not_show_on_a_wire_is_left_out_there() -> None:
    on_mail = selftest_runs(wire="ebts-smtp")
    assert "answers-500-on-bad-delivery" in selftest_runs()
    assert "answers-500-on-bad-delivery" not in on_mail
    assert set(_BY_EMAIL) <= set(on_mail)
    assert {label for label in on_mail if "@" in label} == {
        label for label in selftest_runs() if "@" in label
    }


_CORRECT_RUNS = [("reference", p) for p in DEMO_PROFILES] + [
    (name, "routing-off" if name == "routes-nothing-when-off" else "nff") for name in CORRECT
]


@pytest.mark.parametrize(("variant", "profile"), _CORRECT_RUNS)
def test_correct_designs_pass_every_check_that_applies(
    variant: str, profile: str, tmp_path: Path
) -> None:
    found = run_variant(variant, tmp_path, profile=profile, run_seed=3)
    bad = failed(found) | errors(found)
    assert not bad, [r["message"][-800:] for r in found if r["requirement"] in bad]
    ran = {r["requirement"] for r in found if r["outcome"] == "passed"}
    skipped = {r["requirement"] for r in found if r["outcome"] == "not-applicable"}
    assert ran | skipped == {r["id"] for r in requirements()}


def test_the_kill_matrix_shows_checks_a_run_filtered_out_as_not_run() -> None:
    found = [
        {"requirement": "ROB-4", "outcome": "failed"},
        {"requirement": "SUB-1", "outcome": "not-run"},
        {"requirement": "NFF-2", "outcome": "not-applicable"},
    ]
    row = kill_matrix({"crashes-on-odd-booking": found}).splitlines()[1]
    assert row.split() == ["crashes-on-odd-booking", "-", "X*"]
