"""`interop demo` (mocks, reference SIB and the suite in one go) and `interop selftest` (the suite
against every faulty SIB: the kill matrix)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from .common import REPORT_DIR, CliError, add_run_options, add_signing_key, exit_codes_help
from .serving import add_mocks_clock
from .summary import VERDICT_WORDS, print_checks, publish_report, worst

__all__ = ["add_command"]


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    import os
    import time

    from conformance.run import DEMO_BUDGET_FACTOR, DEMO_PROFILES, check, stage
    from reports.model import exit_code
    from reports.signing import SignatureError, load_or_create_key

    over = " over EBTS e-mail" if args.wire == "ebts-smtp" else ""

    key = args.signing_key or os.environ.get("INTEROP_SIGNING_KEY") or None
    try:
        load_or_create_key(key)
    except SignatureError as exc:
        raise CliError(f"{exc}: give an Ed25519 PKCS#8 PEM file, or none", 5) from None
    began = time.monotonic()
    verdicts = []
    passed = failed = 0
    for name in DEMO_PROFILES:
        folder = Path(args.report_dir, name)
        folder.mkdir(parents=True, exist_ok=True)
        evidence = folder / "evidence" if args.wire == "ebts-smtp" else None
        with stage(name, clock=args.clock, wire=args.wire, evidence=evidence) as profile:
            path = folder / "sut-profile.json"
            path.write_text(json.dumps(profile, indent=2))
            check(
                path,
                report_dir=folder,
                quiet=True,
                extra=["--budget-factor", str(DEMO_BUDGET_FACTOR)],
            )
        report, _ = publish_report(folder, args.signing_key, f"reference SIB ({name}){over}")
        print_checks(report, out)
        t = report["totals"]
        print(
            f"{name:12} reference SIB{over}: {t['passed']} passed, {t['failed']} failed, "
            f"{t['not-applicable']} not applicable: {VERDICT_WORDS[report['verdict']]}; "
            f"{folder / 'report.html'}",
            file=out,
            flush=True,
        )
        if evidence is not None:
            kept = len(list(evidence.glob("*.eft")))
            print(f"{'':12} {kept} EBTS files on the wire: {evidence / 'index.md'}", file=out)
        verdicts.append(report["verdict"])
        passed += t["passed"]
        failed += t["failed"] + t["error"]
        if "stopped" in report:
            break
    overall = worst(verdicts)
    print(
        f"demo: {passed} passed, {failed} failed in {time.monotonic() - began:.0f} s wall "
        f"(virtual clock: {args.clock}): {VERDICT_WORDS[overall]}",
        file=out,
    )
    return exit_code(overall)


def _selftest(args: argparse.Namespace, out: TextIO) -> int:
    import tempfile

    from conformance.run import selftest

    folder = args.report_dir or tempfile.mkdtemp(prefix="interop-selftest-")
    report, ok = selftest(
        folder,
        jobs=args.jobs,
        run_seed=args.run_seed or 0,
        budget_factor=args.budget_factor,
        full=args.full,
        wire=args.wire,
    )
    print(report, file=out)
    return 0 if ok else 1


def add_command(subparsers: Any) -> None:
    """Register `demo` and `selftest`."""
    _add_demo(subparsers)
    _add_selftest(subparsers)


def _add_demo(subparsers: Any) -> None:
    """`interop demo`: where the reports go, the mocks' clock, the signing key and the wire."""
    demo = subparsers.add_parser(
        "demo",
        help="mocks + reference SIB + the whole suite, under three SUT profiles",
        description="Start the mocks and the reference SIB on loopback and run every check "
        "under three SUT profiles (nff, non-nff, routing-off); a signed report for each in "
        "REPORT_DIR/PROFILE/. Exits with the code of the worst verdict.",
        epilog=exit_codes_help(),
    )
    demo.add_argument(
        "--report-dir",
        default=REPORT_DIR,
        metavar="DIR",
        help="where each profile's reports go (DIR/nff, DIR/non-nff, ...)",
    )
    add_mocks_clock(demo)
    add_signing_key(demo, "the reports")
    _add_wire(demo, "the reference SIB")
    demo.set_defaults(run=_demo)


def _add_wire(parser: Any, who: str) -> None:
    """`--wire`: the wire our SIBs speak on the stage."""
    from conformance.run import WIRES

    parser.add_argument(
        "--wire",
        choices=WIRES,
        default=WIRES[0],
        help=f"json-http: JSON over HTTP everywhere; ebts-smtp: {who} sends and takes EBTS files "
        "by e-mail, bookings and LEA routing as EBTS files over HTTP",
    )


def _add_selftest(subparsers: Any) -> None:
    """`interop selftest`: how the kill matrix runs, and where each variant's results go."""
    selftest = subparsers.add_parser(
        "selftest",
        help="run the suite against every faulty SIB: the kill matrix",
        description="Run the suite against the reference SIB, the other correct designs (each "
        "must pass every check under every profile) and each faulty variant (each must fail the "
        "check of the rule it breaks). Exit 0 when so, 1 otherwise.",
    )
    _add_kill_matrix_options(selftest)
    _add_wire(selftest, "each SIB")
    selftest.add_argument(
        "--report-dir",
        metavar="DIR",
        help="where each variant's results go (default: a temporary folder)",
    )
    selftest.set_defaults(run=_selftest)


def _add_kill_matrix_options(selftest: Any) -> None:
    """How the variants are run: how many at once, the seed, the budgets, every check or not."""
    from conformance.run import SELFTEST_BUDGET_FACTOR

    selftest.add_argument("--jobs", type=int, default=2, help="variants checked at once")
    add_run_options(selftest, seed="0", budget_factor=str(SELFTEST_BUDGET_FACTOR))
    selftest.add_argument(
        "--full",
        action="store_true",
        help="run every check against each faulty SIB, not only the checks of the rule it "
        "breaks (slower)",
    )
