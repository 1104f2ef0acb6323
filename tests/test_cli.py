from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import schemas
from conformance.cli import main
from tests._mutate import DELETE, mutate


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_validate_examples_passes_on_the_shipped_examples() -> None:
    code, text = _run("validate", "--examples")
    assert code == 0
    assert "FAIL" not in text
    assert text.count("ok   ") == sum(len(schemas.examples(n)) for n in schemas.NAMES)


def test_validate_picks_the_schema_by_tot_and_reports_path_and_rule(tmp_path: Path) -> None:
    good = tmp_path / "car.json"
    good.write_text(json.dumps(schemas.examples("car")[0]))
    bad = tmp_path / "idr.json"
    bad.write_text(json.dumps(mutate(schemas.examples("idr")[0], "type1.tcr", DELETE)))
    code, text = _run("validate", str(good), str(bad))
    assert code == 1
    assert f"ok   {good} (car)" in text
    assert f"FAIL {bad} (idr)" in text
    assert "$.type1.tcr: 'tcr' is required (rule: required)" in text


def test_validate_with_explicit_schema_and_unreadable_files(tmp_path: Path) -> None:
    profile = tmp_path / "sut.json"
    profile.write_text(json.dumps(schemas.examples("sut-profile")[0]))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert _run("validate", "--schema", "sut-profile", str(profile))[0] == 0
    code, text = _run("validate", str(broken), str(tmp_path / "missing.json"))
    assert code == 1
    assert text.count("FAIL") == 2


def test_validate_without_tot_asks_for_schema(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{}")
    code, text = _run("validate", str(path))
    assert code == 1
    assert "give --schema" in text


def test_validate_with_nothing_is_a_usage_error() -> None:
    assert _run("validate")[0] == 2


def test_schemas_lists_every_schema_and_the_digest() -> None:
    code, text = _run("schemas")
    assert code == 0
    for name in schemas.NAMES:
        assert schemas.uri(name) in text
    assert schemas.digest() in text


def test_unknown_command_exits_with_usage() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2


@pytest.mark.parametrize("kind", ["car", "booking", "sut-profile", "scenario"])
def test_example_prints_a_valid_synthetic_document(kind: str) -> None:
    code, text = _run("example", kind, "--seed", "3")
    assert code == 0
    assert schemas.problems(kind, json.loads(text)) == []
