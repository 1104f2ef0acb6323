"""`interop check`: the preflight, the conformance suite against a SIB, the signed report."""

from __future__ import annotations

import argparse
import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from .common import (
    REPORT_DIR,
    CliError,
    UsageError,
    add_run_options,
    add_signing_key,
    exit_codes_help,
)
from .serving import add_mocks_clock, listen_error
from .summary import print_checks, publish_report, totals_line, verdict_line

__all__ = ["add_command"]

_ERROR = 5
_OUTPUTS = ("results.json", "report.json", "report.html", "junit.xml", "summary.md")


def _requirement_id(value: str) -> str:
    from conformance.catalog import requirements

    if value not in {r["id"] for r in requirements()}:
        raise argparse.ArgumentTypeError(
            f"unknown requirement {value!r} (interop check --list-requirements lists them)"
        )
    return value


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds above 0")
    return seconds


def _list_requirements(out: TextIO) -> int:
    from conformance.catalog import requirements
    from reports.model import cite

    for r in requirements():
        applies = ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in r.get("applies", {}).items())
        sources = "; ".join(cite(s) for s in r["sources"])
        print(f"{r['id']:6} {r['level']:6} {r['rule']}", file=out)
        print(f"{'':13}applies: {applies or 'every profile'} · sources: {sources}", file=out)
    return 0


def _stop(problems: list[Any], out: TextIO) -> None:
    """Print each preflight problem, one line each, and end with the error verdict."""
    if not problems:
        return
    for problem in problems:
        print(f"preflight: {problem.line}", file=out)
    print(
        f"verdict: error (exit {_ERROR}): the harness could not test; nothing was checked "
        "and no report written",
        file=out,
    )
    raise CliError("", _ERROR)


def _not_applicable(args: argparse.Namespace, profile: dict[str, Any], out: TextIO) -> None:
    from conformance.catalog import applies, requirements

    for r in requirements():
        if r["id"] in args.requirement and not applies(r, profile):
            facts = ", ".join(f"{k}={v}" for k, v in r.get("applies", {}).items())
            print(
                f"note: {r['id']} does not apply to this profile (only where {facts}): "
                "reported as not applicable",
                file=out,
            )


def _suite(args: argparse.Namespace, sut_url: str, mocks_url: str, out: TextIO) -> None:
    from conformance import preflight
    from conformance.run import check

    began = time.monotonic()
    problem = preflight.round_trip(
        mocks_url=mocks_url,
        sut_url=sut_url,
        profile=args.profile,
        budget=args.preflight_budget,
        token=_admin_token(),
    )
    _stop([problem] if problem else [], out)
    print(
        f"preflight: ok (profile, signing key, report directory, SIB, mocks; a booking "
        f"reached the mock CJIS in {time.monotonic() - began:.1f} s)",
        file=out,
        flush=True,
    )
    extra = [arg for rid in args.requirement for arg in ("--requirement", rid)]
    for option, value in (("--run-seed", args.run_seed), ("--budget-factor", args.budget_factor)):
        if value is not None:
            extra += [option, str(value)]
    if args.random_order:
        extra.append("--random-order")
    stop = check(
        args.sut_profile,
        report_dir=args.report_dir,
        sut_url=sut_url,
        mocks_url=mocks_url,
        extra=extra,
        quiet=not args.verbose,
        timeout=args.timeout,
    )
    if stop is not None:
        print(f"stopped: {stop.reason}; the checks that finished keep their outcome", file=out)


def _admin_token() -> str | None:
    return os.environ.get("INTEROP_ADMIN_TOKEN") or None


def _profile(args: argparse.Namespace, key: str | None, out: TextIO) -> dict[str, Any]:
    """The static preflight (clock, SUT profile, signing key): the profile, or the error verdict."""
    from conformance import preflight

    profile, problems = preflight.static(
        clock=args.clock, profile_path=args.sut_profile, signing_key=key, report_dir=args.report_dir
    )
    _stop(problems, out)
    assert profile is not None
    return profile


def _sut_url(args: argparse.Namespace, profile: dict[str, Any]) -> str:
    """The SIB under test: --sut-url (or SUT_URL), else the profile's sut_url."""
    sut_url = str(args.sut_url or profile.get("sut_url") or "").rstrip("/")
    if not sut_url:
        raise UsageError("give --sut-url (or SUT_URL, or sut_url in the profile)")
    return sut_url


def _mocks_address(profile: dict[str, Any]) -> tuple[str, int]:
    """Where the mocks listen: where the profile's LEA inboxes point."""
    where = urlsplit(profile["lea_inbox_base"])
    return where.hostname or "127.0.0.1", where.port or 80


def _mocks(stack: ExitStack, args: argparse.Namespace, sut_url: str, at: tuple[str, int]) -> str:
    """The mocks' URL: --mocks-url, else mocks started at ``at`` for as long as ``stack`` holds."""
    from mocks.servers.server import serving
    from mocks.state.service import MockService

    if args.mocks_url:
        return str(args.mocks_url)
    host, port = at
    service = MockService(clock=args.clock, callback=f"{sut_url}/cjis/responses")
    try:
        return stack.enter_context(serving(service, host=host, port=port))
    except OSError as exc:
        raise CliError(f"cannot start the mocks: {listen_error(host, port, exc)}", _ERROR) from None


def _report(folder: Path, key: str | None, sut_url: str, out: TextIO) -> int:
    """Publish the signed report, print its checks, totals and verdict: the verdict's exit code."""
    report, throwaway = publish_report(folder, key, sut_url)
    print_checks(report, out)
    print(totals_line(report), file=out)
    note = " with a throwaway key (give --signing-key to sign with yours)" if throwaway else ""
    print(f"report: {folder / 'report.html'}, signed{note}", file=out)
    print(verdict_line(report), file=out)
    code: int = report["exit_code"]
    return code


def _run(args: argparse.Namespace, out: TextIO) -> int:
    from conformance import preflight

    if args.list_requirements:
        return _list_requirements(out)
    if not args.sut_profile:
        raise UsageError("give --sut-profile FILE (or set SUT_PROFILE)")
    key = args.signing_key or os.environ.get("INTEROP_SIGNING_KEY") or None
    args.profile = profile = _profile(args, key, out)
    sut_url = _sut_url(args, profile)
    _not_applicable(args, profile, out)
    at = _mocks_address(profile)
    _stop(
        preflight.network(
            sut_url=sut_url, mocks_url=args.mocks_url, mocks_at=at, token=_admin_token()
        ),
        out,
    )
    folder = Path(args.report_dir)
    for name in _OUTPUTS:
        (folder / name).unlink(missing_ok=True)
    with ExitStack() as stack:
        mocks_url = _mocks(stack, args, sut_url, at)
        print(f"mock CJIS/IDENT/LESC on {mocks_url}; checking {sut_url}", file=out, flush=True)
        _suite(args, sut_url, mocks_url, out)
    return _report(folder, key, sut_url, out)


def add_command(subparsers: Any) -> None:
    """Register `check`."""
    check = subparsers.add_parser(
        "check",
        help="run the conformance suite against a SIB",
        description="Check a SIB: a preflight (profile, signing key, the SIB and the mocks "
        "answer, a booking reaches the mock CJIS), then every check that applies to the "
        "profile, then a signed report. The mocks are started where the profile's "
        "lea_inbox_base points, unless --mocks-url names running ones. Only a complete run "
        "can be conformant.",
        epilog=exit_codes_help(),
    )
    check.add_argument(
        "--sut-url",
        default=os.environ.get("SUT_URL"),
        metavar="URL",
        help="the SIB under test (default: SUT_URL, else the profile's sut_url)",
    )
    check.add_argument(
        "--sut-profile",
        default=os.environ.get("SUT_PROFILE"),
        metavar="FILE",
        help="the SUT profile (JSON, schemas/sut-profile.json; default: SUT_PROFILE)",
    )
    add_mocks_clock(check)
    check.add_argument(
        "--mocks-url",
        metavar="URL",
        help="use mocks already running there (interop serve) instead of starting them",
    )
    check.add_argument(
        "--report-dir",
        default=REPORT_DIR,
        metavar="DIR",
        help="where results.json, report.json/.html, junit.xml and summary.md go",
    )
    _add_selection(check)


def _add_selection(check: Any) -> None:
    """The options that choose what runs and how the report is signed."""
    check.add_argument(
        "--requirement",
        action="append",
        default=[],
        type=_requirement_id,
        metavar="ID",
        help="check only this requirement (repeatable); the run "
        "is then incomplete, never conformant",
    )
    check.add_argument(
        "--list-requirements", action="store_true", help="print the requirement catalog and exit"
    )
    check.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="stop the checks after this many wall seconds; the report (incomplete) says so",
    )
    check.add_argument(
        "--preflight-budget",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="wall seconds the preflight booking has to reach the mock CJIS",
    )
    add_run_options(
        check, seed="0, or INTEROP_RUN_SEED", budget_factor="1, or INTEROP_BUDGET_FACTOR"
    )
    check.add_argument(
        "--random-order",
        action="store_true",
        help="run the checks in an order drawn from the run seed (recorded in the report)",
    )
    add_signing_key(check, "the report")
    check.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show pytest's own output instead of writing it to pytest.log",
    )
    check.set_defaults(run=_run)
