"""The `interop` command line: each mistake a person can make gets one line saying what to fix,
the right verdict and its exit code; no traceback unless --debug."""

from __future__ import annotations

import argparse
import io
import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

import schemas
from conformance.catalog import requirements
from conformance.run import DEMO_PROFILES
from interop import main
from mocks.servers.server import free_port, in_thread, uvicorn_server
from sibs.variants import sib_class
from tests._mutate import DELETE, mutate

REPO = Path(__file__).resolve().parent.parent


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def _last(text: str) -> str:
    return text.strip().splitlines()[-1]


StartSib = Callable[..., Path]


@pytest.fixture
def start_sib(tmp_path: Path) -> Iterator[StartSib]:
    """Start one of our SIBs in a thread; the SUT profile file points the mocks at a free port."""
    with ExitStack() as stack:

        def start(variant: str = "reference", *, cjis_port: int | None = None) -> Path:
            mocks_port, sib_port = free_port(), free_port()
            profile = {
                **DEMO_PROFILES["nff"],
                "lea_inbox_base": f"http://127.0.0.1:{mocks_port}/lea",
                "sut_url": f"http://127.0.0.1:{sib_port}",
                "follows_virtual_clock": True,
            }
            cjis = f"http://127.0.0.1:{cjis_port or mocks_port}"
            sib = sib_class(variant)(profile, cjis_url=cjis)
            stack.enter_context(
                in_thread(
                    lambda port: uvicorn_server(
                        sib.app, port=port, fast_loop=False, log_level="critical"
                    ),
                    port=sib_port,
                )
            )
            path = tmp_path / f"{variant}.json"
            path.write_text(json.dumps(profile))
            return path

        yield start


def _profile_of_nothing(folder: Path) -> Path:
    """A valid SUT profile whose SIB and mocks are nowhere (port 9)."""
    path = folder / "sut.json"
    path.write_text(json.dumps({**DEMO_PROFILES["nff"], "sut_url": "http://127.0.0.1:9",
                                "lea_inbox_base": "http://127.0.0.1:9/lea"}))  # fmt: skip
    return path


def _report(folder: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((folder / "report.json").read_text())
    return found


# -- partial, unknown and not-applicable requirements -------------------------------------------


def test_a_partial_run_is_incomplete_never_conformant(start_sib: StartSib, tmp_path: Path) -> None:
    profile = start_sib()
    out = tmp_path / "out"
    code, text = _run("check", "--sut-profile", str(profile), "--report-dir", str(out),
                      "--requirement", "RTE-3", "--requirement", "SUB-1")  # fmt: skip
    assert code == 4, text
    others = len(requirements()) - 2
    assert _last(text) == (
        f"verdict: incomplete (exit 4): a partial run: {others} requirements not run; "
        "only a complete run can be conformant"
    )
    report = _report(out)
    assert (report["verdict"], report["exit_code"], report["complete"]) == ("incomplete", 4, False)
    status = {r["id"]: r["status"] for r in report["requirements"]}
    assert status["RTE-3"] == status["SUB-1"] == "passed"
    assert status["RTE-1"] == "not-run"
    assert status["RTE-4"] == "not-run"
    others_checks = [c for c in report["checks"] if c["requirement"] not in ("RTE-3", "SUB-1")]
    assert others_checks
    assert {c["outcome"] for c in others_checks} == {"not-run"}
    assert report["totals"]["not-run"] == len(others_checks)


def test_check_takes_the_run_seed_budget_factor_and_random_order_and_records_them(
    start_sib: StartSib, tmp_path: Path
) -> None:
    profile = start_sib()
    out = tmp_path / "out"
    code, text = _run("check", "--sut-profile", str(profile), "--report-dir", str(out),
                      "--requirement", "SUB-1", "--run-seed", "7", "--budget-factor", "0.5",
                      "--random-order")  # fmt: skip
    assert code == 4, text
    report = _report(out)
    assert report["budgets"]["factor"] == 0.5
    assert (report["budgets"]["run_seed"], report["budgets"]["random_order"]) == (7, True)
    status = {r["id"]: r["status"] for r in report["requirements"]}
    assert status["SUB-1"] == "passed"


_OUR_PACKAGES = ("schemas", "protocol", "synthetic", "wire", "mocks", "conformance", "reports")


def test_check_from_a_folder_holding_packages_named_like_ours_is_conformant(
    start_sib: StartSib, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite's process imports the harness, never the user's folders of the same names;
    relative paths still mean the user's working directory."""
    profile = start_sib()
    work = tmp_path / "state-it"
    for name in _OUR_PACKAGES:
        (work / name).mkdir(parents=True)
        (work / name / "__init__.py").write_text("raise ImportError('not the harness')\n")
    (work / "my-sib.json").write_text(profile.read_text())
    monkeypatch.chdir(work)
    code, text = _run("check", "--sut-profile", "my-sib.json", "--report-dir", "out",
                      "--budget-factor", "0.05")  # fmt: skip
    assert code == 0, text
    assert _last(text) == (
        "verdict: conformant (exit 0): every requirement that applies was checked and passed"
    )
    assert _report(work / "out")["verdict"] == "conformant"


def test_an_unknown_requirement_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--sut-profile", "x.json", "--requirement", "XYZ-9"])
    assert code == 2
    err = capsys.readouterr().err
    assert err == (
        "interop check: argument --requirement: unknown requirement 'XYZ-9' (interop check "
        "--list-requirements lists them) (see interop check --help)\n"
    )


def test_a_requirement_that_does_not_apply_is_reported_as_such(
    start_sib: StartSib, tmp_path: Path
) -> None:
    profile = start_sib()
    out = tmp_path / "out"
    code, text = _run("check", "--sut-profile", str(profile), "--report-dir", str(out),
                      "--requirement", "RTE-4")  # fmt: skip
    assert code == 4, text
    assert text.splitlines()[0] == (
        "note: RTE-4 does not apply to this profile (only where message_routing=False): "
        "reported as not applicable"
    )
    others = len(requirements()) - 1
    assert _last(text).startswith(
        f"verdict: incomplete (exit 4): a partial run: {others} requirements"
    )
    status = {r["id"]: r["status"] for r in _report(out)["requirements"]}
    assert status["RTE-4"] == "not-applicable"


def test_list_requirements_prints_the_catalog() -> None:
    code, text = _run("check", "--list-requirements")
    assert code == 0
    assert text.startswith("SUB-1  MUST   Every message the SIB sends to FBI CJIS")
    assert "RTE-5  SHOULD" in text
    assert "sources: SOP §2.1.1, 2.1.2.2; MOA §IV.A" in text
    assert ".txt" not in text


# -- the preflight: one line saying what to fix, verdict error, exit 5 ---------------------------


def test_a_sut_where_nothing_listens_is_an_error(tmp_path: Path) -> None:
    port = free_port()
    profile = tmp_path / "sut.json"
    inbox = f"http://127.0.0.1:{free_port()}/lea"
    document = {
        **DEMO_PROFILES["nff"],
        "sut_url": f"http://127.0.0.1:{port}",
        "lea_inbox_base": inbox,
    }
    profile.write_text(json.dumps(document))
    code, text = _run("check", "--sut-profile", str(profile), "--report-dir", str(tmp_path))
    assert code == 5
    assert text.splitlines() == [
        f"preflight: nothing answers at the SIB's URL http://127.0.0.1:{port} (connection "
        "refused): start your SIB, or fix --sut-url (or sut_url in the profile)",
        "verdict: error (exit 5): the harness could not test; nothing was checked and no report "
        "written",
    ]
    assert not (tmp_path / "report.json").exists()


def test_mocks_that_do_not_answer_are_an_error(start_sib: StartSib, tmp_path: Path) -> None:
    profile = start_sib()
    mocks = f"http://127.0.0.1:{free_port()}"
    code, text = _run("check", "--sut-profile", str(profile), "--mocks-url", mocks,
                      "--report-dir", str(tmp_path / "out"))  # fmt: skip
    assert code == 5
    assert text.splitlines()[0] == (
        f"preflight: the mocks at {mocks} do not answer (connection refused): start `interop "
        "serve` there, or leave out --mocks-url"
    )


def test_a_sib_that_cannot_reach_the_mocks_is_told_where_they_are(
    start_sib: StartSib, tmp_path: Path
) -> None:
    profile = start_sib(cjis_port=free_port())
    mocks = json.loads(profile.read_text())["lea_inbox_base"].removesuffix("/lea")
    code, text = _run("check", "--sut-profile", str(profile), "--preflight-budget", "2",
                      "--report-dir", str(tmp_path / "out"))  # fmt: skip
    assert code == 5
    line = text.splitlines()[1]
    assert line.startswith("preflight: the SIB ")
    assert line.endswith(
        f"point the SIB's CJIS address at {mocks}/cjis/submissions "
        f"(interop sib: --cjis-url {mocks})"
    )


def test_the_mocks_port_in_use_is_an_error(start_sib: StartSib, tmp_path: Path) -> None:
    profile = start_sib()
    port = int(json.loads(profile.read_text())["lea_inbox_base"].split(":")[2].split("/")[0])
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        code, text = _run("check", "--sut-profile", str(profile), "--report-dir", str(tmp_path))
    assert code == 5
    assert text.splitlines()[0] == (
        f"preflight: port {port} on 127.0.0.1, where the profile's lea_inbox_base puts the "
        "mocks, is in use: stop what holds it, give --mocks-url if it is `interop serve`, or "
        "change lea_inbox_base"
    )


def test_a_missing_signing_key_is_noticed_before_the_run(tmp_path: Path) -> None:
    profile = _profile_of_nothing(tmp_path)
    key = tmp_path / "no-such-key.pem"
    code, text = _run("check", "--sut-profile", str(profile), "--signing-key", str(key))
    assert code == 5
    assert text.splitlines()[0] == (
        f"preflight: cannot read the signing key {key}: No such file or directory: give an "
        "Ed25519 PKCS#8 PEM file (--signing-key or INTEROP_SIGNING_KEY), or none for a "
        "throwaway key"
    )


def test_an_invalid_profile_is_one_line(tmp_path: Path) -> None:
    profile = tmp_path / "sut.json"
    profile.write_text(json.dumps(mutate(DEMO_PROFILES["nff"], "nff", DELETE)))
    code, text = _run("check", "--sut-profile", str(profile))
    assert code == 5
    assert text.splitlines()[0].startswith(f"preflight: the SUT profile is not valid: {profile}: ")
    assert "'nff' is required (rule: required)" in text


def test_a_clock_that_is_not_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--sut-profile", "x.json", "--clock", "fast"]) == 2
    assert capsys.readouterr().err == (
        "interop check: argument --clock: 'fast' is not a clock: give manual, scaled:N (N > 0, "
        "e.g. scaled:3600) or realtime (see interop check --help)\n"
    )


# -- verdicts of complete runs ------------------------------------------------------------------


def test_a_should_failure_is_conformant_with_findings(start_sib: StartSib, tmp_path: Path) -> None:
    profile = start_sib("swallows-errt")
    out = tmp_path / "out"
    # the ERRTs it swallows are waited for their whole route budget: a tenth of it (6 s) will do
    code, text = _run("check", "--sut-profile", str(profile), "--report-dir", str(out),
                      "--budget-factor", "0.1")  # fmt: skip
    assert code == 3, text
    assert _last(text) == (
        "verdict: conformant with findings (exit 3): only SHOULD requirements failed: RTE-5, RTE-11"
    )
    assert "   FAIL RTE-5 (SHOULD) test_errt_reaches_the_booking_lea: " in text
    report = _report(out)
    assert (report["verdict"], report["exit_code"]) == ("conformant-with-findings", 3)
    assert (
        "Conformance report: CONFORMANT WITH FINDINGS (exit code 3)"
        in (out / "summary.md").read_text()
    )


def test_a_sib_that_dies_after_a_bad_delivery_fails_rob3(
    start_sib: StartSib, tmp_path: Path
) -> None:
    profile = start_sib("crashes-on-malformed")
    out = tmp_path / "out"
    code, text = _run("check", "--sut-profile", str(profile), "--report-dir", str(out),
                      "--requirement", "ROB-3")  # fmt: skip
    report = _report(out)
    (rob3,) = [c for c in report["checks"] if c["requirement"] == "ROB-3"]
    assert rob3["outcome"] == "failed", rob3
    assert report["verdict"] == "not-conformant"
    assert code == 1
    assert _last(text) == "verdict: not conformant (exit 1): MUST requirements failed: ROB-3"


# -- no traceback ---------------------------------------------------------------------------------


def test_example_with_a_bad_ori_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "car", "--ori", "nc09"]) == 2
    assert capsys.readouterr().err == (
        "interop example: argument --ori: 'nc09' is not an ORI: two capital letters of the "
        "state, then seven capital letters or digits (e.g. NC0920000) (see interop example "
        "--help)\n"
    )


def test_a_reader_that_goes_away_is_not_an_error() -> None:
    shell = f"{sys.executable} -m interop example scenario | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.stdout == "{\n"
    assert done.stderr == ""
    assert done.returncode == 0


def test_an_internal_error_is_one_line_and_debug_shows_where(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the ledger is on fire\nsecond line")

    monkeypatch.setattr("synthetic.Synthesizer.booking", broken)
    monkeypatch.delenv("INTEROP_DEBUG", raising=False)
    assert main(["example", "car"]) == 5
    assert capsys.readouterr().err == (
        "interop example: internal error: RuntimeError: the ledger is on fire "
        "(run again with --debug to see where)\n"
    )
    assert main(["--debug", "example", "car"]) == 5
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("interop example: internal error: RuntimeError: the ledger is on fire\n")


def test_every_option_has_help_and_sib_lists_its_variants(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from interop import parser

    top = parser()
    subparsers = next(a for a in top._actions if a.dest == "command")
    assert isinstance(subparsers.choices, dict)
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            assert action.help, f"interop {name} {action.option_strings or action.dest}"
    assert main(["sib", "--help"]) == 0
    text = capsys.readouterr().out
    listed = "".join(text.split())
    for name in ("reference", "async-forwarding", "wrong-ori", "routes-duplicates"):
        assert name in listed, name
    assert main(["serve", "--help"]) == 0
    assert "all-match" in capsys.readouterr().out


def _commands(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Every command line that has a help of its own: `()`, `("check",)`, ... (nested ones too)."""
    yield words
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*words, name))


def test_no_help_line_says_its_default_twice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from interop import parser

    monkeypatch.setenv("COLUMNS", "10000")  # each option's help on one line
    commands = list(_commands(parser()))
    assert {("check",), ("demo",), ("selftest",), ("report",), ("replay",)} <= set(commands)
    said = 0
    for words in commands:
        assert main([*words, "--help"]) == 0
        for line in capsys.readouterr().out.splitlines():
            assert line.count("(default:") <= 1, f"interop {' '.join(words)} --help: {line}"
            said += "(default:" in line
    assert said > 20  # the defaults are said, once each


# -- validate, schemas, example -------------------------------------------------------------------


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


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["car", "booking", "sut-profile", "scenario"])
def test_example_prints_a_valid_synthetic_document(kind: str) -> None:
    code, text = _run("example", kind, "--seed", "3")
    assert code == 0
    assert schemas.problems(kind, json.loads(text)) == []


@pytest.mark.parametrize("kind", ["sut-profile", "scenario"])
def test_example_in_ebts_of_what_has_no_ebts_form_is_a_usage_error(
    kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["example", kind, "--format", "ebts"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"interop example: argument --format: a {kind} has no EBTS form; --format ebts is for "
        f"car and booking (give --format json for a {kind}) (see interop example --help)\n"
    )


@pytest.mark.parametrize("kind", ["car", "booking"])
def test_example_in_ebts_reads_back_as_a_valid_document(kind: str) -> None:
    from wire.codec import decode

    code, text = _run("example", kind, "--format", "ebts")
    assert code == 0
    decoded, document = decode(text.encode("latin-1"))
    assert decoded == kind
    assert schemas.problems(kind, document) == []


def test_check_without_a_profile_points_at_its_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SUT_PROFILE", raising=False)
    assert main(["check"]) == 2
    assert capsys.readouterr().err == (
        "interop check: give --sut-profile FILE (or set SUT_PROFILE) (see interop check --help)\n"
    )


@pytest.mark.parametrize("command", ["serve", "sib"])
def test_serve_and_sib_on_a_port_in_use_say_so_in_one_line(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = _profile_of_nothing(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        extra = ["--profile", str(profile)] if command == "sib" else []
        assert main([command, "--port", str(port), *extra]) == 2
    assert capsys.readouterr().err == (
        f"interop {command}: cannot listen on 127.0.0.1 port {port} (Address already in use): "
        "stop what holds it or give another --port\n"
    )


def test_serve_on_an_smtp_port_in_use_names_the_smtp_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(free_port()), "--smtp-port", str(port)]) == 2
    assert capsys.readouterr().err == (
        f"interop serve: cannot listen on 127.0.0.1 port {port} (Address already in use): "
        "stop what holds it or give another --smtp-port\n"
    )


@pytest.mark.parametrize("command", ["serve", "sib"])
@pytest.mark.parametrize(
    ("host", "why"),
    [("192.0.2.1", "Cannot assign requested address"), ("nowhere.invalid", "")],
)
def test_serve_and_sib_on_a_host_they_cannot_bind_name_the_host(
    command: str, host: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = _profile_of_nothing(tmp_path)
    port = free_port()
    extra = ["--profile", str(profile)] if command == "sib" else []
    assert main([command, "--host", host, "--port", str(port), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"interop {command}: cannot listen on {host} port {port} ({why}")
    assert err.endswith(
        "): give --host an address of this machine (127.0.0.1, or 0.0.0.0 for all)\n"
    )


def test_demo_with_a_missing_key_stops_before_it_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "nope.pem"
    assert main(["demo", "--signing-key", str(key), "--report-dir", str(tmp_path)]) == 5
    assert capsys.readouterr().err == (
        f"interop demo: cannot read the signing key {key}: No such file or directory: give an "
        "Ed25519 PKCS#8 PEM file, or none\n"
    )
    assert list(tmp_path.iterdir()) == []
