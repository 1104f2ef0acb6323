"""`interop demo` (mocks, reference SIB and the suite in one go) and `interop selftest` (the suite
against every faulty SIB: the kill matrix)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from .common import CliError, exit_codes_help
from .serving import clock_spec
from .summary import VERDICT_WORDS, print_checks, publish_report, worst

__all__ = ["add_command"]


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    import os
    import time

    from reports.model import exit_code
    from reports.signing import SignatureError, load_or_create_key

    from ..run import DEMO_PROFILES, check, stage
    from ..wire_stage import mail_stage

    staging, over = (mail_stage, " over EBTS e-mail") if args.wire == "ebts-smtp" else (stage, "")

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
        with staging(name, clock=args.clock) as profile:
            path = folder / "sut-profile.json"
            path.write_text(json.dumps(profile, indent=2))
            check(path, report_dir=folder, quiet=True)
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
        verdicts.append(report["verdict"])
        passed += t["passed"]
        failed += t["failed"] + t["error"]
    overall = worst(verdicts)
    print(
        f"demo: {passed} passed, {failed} failed in {time.monotonic() - began:.0f} s wall "
        f"(virtual clock: {args.clock}): {VERDICT_WORDS[overall]}",
        file=out,
    )
    return exit_code(overall)


def _selftest(args: argparse.Namespace, out: TextIO) -> int:
    import tempfile
    import time
    from concurrent.futures import ThreadPoolExecutor

    from ..run import failed, kill_matrix, run_variant
    from ..variants import VARIANTS, sib_class

    names = ["reference", *VARIANTS]
    began = time.monotonic()
    folder = args.report_dir or tempfile.mkdtemp(prefix="interop-selftest-")
    with ThreadPoolExecutor(args.jobs) as pool:
        found = pool.map(lambda n: run_variant(n, Path(folder, n)), names)
        runs = dict(zip(names, found, strict=True))
    print(kill_matrix(runs), file=out)
    problems = []
    for name, result in runs.items():
        breaks = set(sib_class(name).breaks)
        if name == "reference" and failed(result):
            problems.append(f"the reference SIB fails {sorted(failed(result))}")
        elif name != "reference" and not failed(result) & breaks:
            problems.append(f"{name} is not caught by a check of {sorted(breaks)}")
    for problem in problems:
        print(f"SELFTEST FAIL: {problem}", file=out)
    caught = len(names) - 1 - sum(1 for p in problems if "not caught" in p)
    print(
        f"selftest: {caught} of {len(names) - 1} faulty SIBs caught, reference "
        f"{'clean' if not any('reference' in p for p in problems) else 'FAILING'}, "
        f"{time.monotonic() - began:.1f} s wall",
        file=out,
    )
    return 0 if not problems else 1


def add_command(subparsers: Any) -> None:
    """Register `demo` and `selftest`."""
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
        default="reports/out",
        metavar="DIR",
        help="where each profile's reports go (DIR/nff, DIR/non-nff, ...)",
    )
    demo.add_argument(
        "--clock",
        default="manual",
        type=clock_spec,
        help="the mocks' clock: manual, scaled:N or realtime",
    )
    demo.add_argument(
        "--signing-key",
        metavar="PEM",
        help="Ed25519 private key (PKCS#8 PEM) that signs the reports (default: "
        "INTEROP_SIGNING_KEY, else a throwaway key)",
    )
    demo.add_argument(
        "--wire",
        choices=["json-http", "ebts-smtp"],
        default="json-http",
        help="json-http: JSON over HTTP everywhere; ebts-smtp: the reference SIB sends and takes "
        "EBTS files by e-mail, bookings and LEA routing as EBTS files over HTTP (default: "
        "json-http)",
    )
    demo.set_defaults(run=_demo)
    selftest = subparsers.add_parser(
        "selftest",
        help="run the suite against every faulty SIB: the kill matrix",
        description="Run the suite against the reference SIB and each faulty variant; each "
        "variant must fail the check of the rule it breaks and the reference none. Exit 0 "
        "when so, 1 otherwise.",
    )
    selftest.add_argument("--jobs", type=int, default=2, help="variants checked at once")
    selftest.add_argument(
        "--report-dir",
        metavar="DIR",
        help="where each variant's results go (default: a temporary folder)",
    )
    selftest.set_defaults(run=_selftest)
