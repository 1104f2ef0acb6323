"""The suite proves itself: the reference SIB passes every check; each faulty SIB fails the
checks of the rules it breaks (the kill matrix, one row per test)."""

from __future__ import annotations

import ast
import json
from importlib import resources
from pathlib import Path

import pytest

from conformance.catalog import by_check, requirements
from conformance.run import DEMO_PROFILES, check, failed, results, run_variant, stage
from conformance.sib import ReferenceSib
from conformance.variants import VARIANTS, sib_class


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
    assert len(checks) >= 20
    assert set(checks) == set(by_check()), "catalog and suite list different checks"
    for name, requirement in checks.items():
        assert by_check()[name]["id"] == requirement
    assert {r["id"] for r in requirements()} == set(checks.values())


def test_every_requirement_is_broken_by_some_variant() -> None:
    broken = {rid for cls in VARIANTS.values() for rid in cls.breaks}
    assert broken == {r["id"] for r in requirements()}
    for cls in VARIANTS.values():
        assert cls.demo_profile in DEMO_PROFILES
        assert cls.__doc__, f"{cls.name} does not say which rule it breaks"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_faulty_sib_fails_the_checks_of_the_rule_it_breaks(
    variant: str, tmp_path: Path
) -> None:
    found = run_variant(variant, tmp_path)
    missed = set(sib_class(variant).breaks) - failed(found)
    assert not missed, f"{variant} passes the checks of {sorted(missed)}"


@pytest.mark.parametrize("profile", list(DEMO_PROFILES))
def test_the_reference_sib_passes_every_check_that_applies(profile: str, tmp_path: Path) -> None:
    with stage(profile) as sut:
        path = tmp_path / "sut.json"
        path.write_text(json.dumps(sut))
        code = check(path, report_dir=tmp_path)
    found = results(tmp_path)
    assert failed(found) == set(), (tmp_path / "pytest.log").read_text()[-3000:]
    assert code == 0
    ran = {r["requirement"] for r in found if r["outcome"] == "passed"}
    skipped = {r["requirement"] for r in found if r["outcome"] == "not-applicable"}
    assert ran | skipped == {r["id"] for r in requirements()}
    assert ReferenceSib.breaks == ()
