"""`interop convert`, `interop validate` of encoded files, `interop example --format ebts`."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import schemas
from interop import main
from wire.codec import decode, encode


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out)
    return code, out.getvalue()


def test_example_car_as_ebts_is_a_valid_car() -> None:
    code, text = _run("example", "car", "--format", "ebts", "--seed", "7")
    assert code == 0
    kind, car = decode(text.encode("latin-1"))
    assert kind == "car"
    assert schemas.problems("car", car) == []
    json_code, json_text = _run("example", "car", "--seed", "7")
    assert json_code == 0
    assert json.loads(json_text)["type2"] == car["type2"]


def test_convert_both_ways_through_files(tmp_path: Path) -> None:
    source = tmp_path / "idr.json"
    example = schemas.examples("idr")[0]
    source.write_text(json.dumps(example))
    encoded = tmp_path / "idr.eft"
    assert _run("convert", str(source), "--to", "ebts", "-o", str(encoded))[0] == 0
    assert encoded.read_bytes() == encode(example)
    code, text = _run("convert", str(encoded), "--to", "json")
    assert code == 0
    assert json.loads(text) == example


def test_convert_reads_stdin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    booking = schemas.examples("booking")[1]
    stdin = SimpleNamespace(buffer=io.BytesIO(encode(booking, "booking")))
    monkeypatch.setattr(sys, "stdin", stdin)
    code, text = _run("convert", "-", "--to", "json")
    assert code == 0
    assert json.loads(text) == booking


def test_convert_finds_a_booking_without_a_tot(tmp_path: Path) -> None:
    source = tmp_path / "booking.json"
    booking = schemas.examples("booking")[0]
    source.write_text(json.dumps(booking))
    target = tmp_path / "booking.eft"
    assert _run("convert", str(source), "--to", "ebts", "-o", str(target))[0] == 0
    assert decode(target.read_bytes()) == ("booking", booking)


def test_convert_refuses_an_invalid_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    car = json.loads(json.dumps(schemas.examples("car")[0]))
    del car["type2"]["dob"]
    source = tmp_path / "car.json"
    source.write_text(json.dumps(car))
    assert _run("convert", str(source), "--to", "ebts")[0] == 1
    assert "dob" in capsys.readouterr().err


def test_validate_reads_encoded_and_json_files(tmp_path: Path) -> None:
    good = tmp_path / "sre.eft"
    good.write_bytes(encode(schemas.examples("sre")[0]))
    cut = tmp_path / "cut.eft"
    cut.write_bytes(encode(schemas.examples("idr")[0])[:120])
    plain = tmp_path / "errt.json"
    plain.write_text(json.dumps(schemas.examples("errt")[0]))
    code, text = _run("validate", str(good), str(plain))
    assert code == 0
    assert "(sre, EBTS)" in text
    assert "errt.json (errt)" in text
    code, text = _run("validate", str(good), str(cut))
    assert code == 1
    assert "FAIL" in text
    assert "$.records[1].1.001" in text


def test_validate_names_schema_problems_of_an_encoded_file(tmp_path: Path) -> None:
    car = json.loads(json.dumps(schemas.examples("car")[0]))
    car["type2"]["sex"] = "Q"
    bad = tmp_path / "car.eft"
    bad.write_bytes(encode(car))
    code, text = _run("validate", str(bad))
    assert code == 1
    assert "$.type2.sex" in text
