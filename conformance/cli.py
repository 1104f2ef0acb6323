"""The `interop` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import schemas

__all__ = ["main"]

_TOT_SCHEMA = {
    "CAR": "car",
    "CPI": "cpi",
    "SRE": "sre",
    "IDR": "idr",
    "IAQ": "iaq",
    "IAR": "iar",
    "ERRT": "errt",
    "DET": "detainer",
}


def _schema_for(document: Any) -> str | None:
    if isinstance(document, dict):
        header = document.get("type1")
        if isinstance(header, dict):
            return _TOT_SCHEMA.get(str(header.get("tot")))
    return None


def _validate_one(label: str, name: str | None, document: Any, out: TextIO) -> bool:
    if name is None:
        print(f"FAIL {label}: no $.type1.tot naming a message; give --schema", file=out)
        return False
    found = schemas.problems(name, document)
    if not found:
        print(f"ok   {label} ({name})", file=out)
        return True
    print(f"FAIL {label} ({name})", file=out)
    for problem in found:
        print(f"     {problem}", file=out)
    return False


def _cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    ok = True
    if args.examples:
        for name in schemas.NAMES:
            for i, example in enumerate(schemas.examples(name)):
                ok &= _validate_one(f"{name} example {i + 1}", name, example, out)
    for path in args.files:
        try:
            document = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            print(f"FAIL {path}: {exc}", file=out)
            ok = False
            continue
        ok &= _validate_one(path, args.schema or _schema_for(document), document, out)
    if not args.examples and not args.files:
        print("nothing to validate: give FILE... or --examples", file=out)
        return 2
    return 0 if ok else 1


def _cmd_schemas(args: argparse.Namespace, out: TextIO) -> int:
    for name in schemas.NAMES:
        print(f"{name:16} {schemas.uri(name)}  {schemas.schema(name).get('title', '')}", file=out)
    print(f"digest {schemas.digest()}", file=out)
    return 0


def _cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from mocks.scenario import Scenario, scenario_names
    from mocks.server import server
    from mocks.service import MockService

    try:
        if args.scenario is None:
            scenario = None
        elif args.scenario in scenario_names():
            scenario = Scenario.named(args.scenario)
        else:
            scenario = Scenario.from_file(args.scenario)
        service = MockService(
            clock=args.clock,
            scenario=scenario,
            ledger=args.ledger,
            callback=args.sut_callback,
            admin_token=args.admin_token or os.environ.get("INTEROP_ADMIN_TOKEN") or None,
        )
        uvicorn_server = server(service, host=args.host, port=args.port)
    except (ValueError, OSError) as exc:
        print(f"interop serve: {exc}", file=out)
        return 2
    where = args.ledger or "in memory"
    print(
        f"mock CJIS/IDENT/LESC on http://{args.host}:{args.port} "
        f"(clock {args.clock}, scenario {service.scenario.name}, ledger {where})",
        file=out,
        flush=True,
    )
    uvicorn_server.run()
    return 0


def _cmd_example(args: argparse.Namespace, out: TextIO) -> int:
    from datetime import UTC, datetime

    from protocol.synthetic import Synthesizer

    synth = Synthesizer(args.seed)
    now = datetime.now(UTC).replace(microsecond=0)
    ori = args.ori or synth.lea_ori(args.state)
    booking = synth.booking(ori, doa=now.date())
    documents = {
        "booking": lambda: booking,
        "car": lambda: synth.car(booking, tcn=synth.tcn(ori, now.date()), gmt=now),
        "sut-profile": lambda: synth.sut_profile(args.state),
        "scenario": lambda: synth.scenario(args.state),
    }
    document = documents[args.kind]()
    schemas.validate(args.kind, document)
    print(json.dumps(document, indent=2), file=out)
    return 0


def _cmd_sib(args: argparse.Namespace, out: TextIO) -> int:
    from mocks.server import uvicorn_server
    from protocol.profile import ProfileError, load_sut_profile

    from .variants import sib_class

    try:
        profile = load_sut_profile(args.profile)
        cls = sib_class(args.variant)
    except (ProfileError, ValueError, OSError) as exc:
        print(f"interop sib: {exc}", file=out)
        return 2
    sib = cls(profile, cjis_url=args.cjis_url, store=args.store)
    print(
        f"SIB '{cls.name}' for {profile['state']} on http://{args.host}:{args.port} "
        f"(CJIS at {args.cjis_url}, LEA inboxes at {profile['lea_inbox_base']})",
        file=out,
        flush=True,
    )
    uvicorn_server(sib.app, host=args.host, port=args.port).run()
    return 0


def _summary(found: list[dict[str, Any]], out: TextIO) -> tuple[int, int]:
    passed = sum(1 for r in found if r["outcome"] == "passed")
    bad = [r for r in found if r["outcome"] in ("failed", "error")]
    for r in bad:
        print(f"   FAIL {r['requirement']:6} {r['check']}", file=out)
    return passed, len(bad)


def _publish(folder: Path, key: str | None, name: str, out: TextIO) -> None:
    from .run import publish

    report, throwaway = publish(folder, signing_key=key or os.environ.get("INTEROP_SIGNING_KEY"),
                                sut_name=name)  # fmt: skip
    note = " with a throwaway key (give --signing-key to sign with yours)" if throwaway else ""
    print(f"   report: {folder / 'report.html'} ({report['verdict']}), signed{note}", file=out)


def _cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    from reports.files import FORMATS, render
    from reports.signing import SignatureError, verify

    try:
        report = json.loads(Path(args.file).read_text())
    except (OSError, ValueError) as exc:
        print(f"interop report: {args.file}: {exc}", file=out)
        return 2
    if args.action == "verify":
        try:
            verify(report, public_key=args.public_key)
        except SignatureError as exc:
            print(f"NOT VERIFIED {args.file}: {exc}", file=out)
            return 1
        who = "a throwaway key" if report["signature"]["throwaway"] else "its key"
        print(f"verified {args.file}: signed by {who} {report['signature']['public_key'][:16]}…, "
              f"schemas match, verdict {report['verdict']}", file=out)  # fmt: skip
        return 0
    fmt = args.format
    text = render(report, fmt)
    target = Path(args.out) if args.out else Path(args.file).with_name(FORMATS[fmt][0])
    target.write_text(text)
    print(f"wrote {target}", file=out)
    return 0


def _cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from urllib.parse import urlsplit

    from mocks.server import serving
    from mocks.service import MockService
    from protocol.profile import ProfileError, load_sut_profile

    from .run import check, results

    try:
        profile = load_sut_profile(args.sut_profile)
    except (ProfileError, OSError) as exc:
        print(f"interop check: {exc}", file=out)
        return 2
    sut_url = args.sut_url or profile.get("sut_url")
    if not sut_url:
        print("interop check: give --sut-url (or sut_url in the profile)", file=out)
        return 2
    report_dir = Path(args.report_dir)
    extra = [arg for rid in args.requirement for arg in ("--requirement", rid)]
    if args.mocks_url:
        code = check(args.sut_profile, report_dir=report_dir, sut_url=sut_url,
                     mocks_url=args.mocks_url, extra=extra, quiet=not args.verbose)  # fmt: skip
    else:
        where = urlsplit(profile["lea_inbox_base"])
        service = MockService(clock=args.clock, callback=f"{sut_url.rstrip('/')}/cjis/responses")
        with serving(service, host=where.hostname or "127.0.0.1", port=where.port or 80) as url:
            print(f"mock CJIS/IDENT/LESC on {url}; checking {sut_url}", file=out, flush=True)
            code = check(args.sut_profile, report_dir=report_dir, sut_url=sut_url,
                         mocks_url=url, extra=extra, quiet=not args.verbose)  # fmt: skip
    found = results(report_dir) if (report_dir / "results.json").exists() else []
    passed, bad = _summary(found, out)
    if found:
        _publish(report_dir, args.signing_key, sut_url, out)
    print(f"{passed} passed, {bad} failed", file=out)
    return code


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    import time

    from .run import DEMO_PROFILES, check, results, stage

    began = time.monotonic()
    total_passed = total_bad = 0
    for name in DEMO_PROFILES:
        folder = Path(args.report_dir, name)
        folder.mkdir(parents=True, exist_ok=True)
        with stage(name, clock=args.clock) as profile:
            path = folder / "sut-profile.json"
            path.write_text(json.dumps(profile, indent=2))
            check(path, report_dir=folder, quiet=True)
        found = results(folder)
        passed, bad = _summary(found, out)
        _publish(folder, args.signing_key, f"reference SIB ({name})", out)
        na = sum(1 for r in found if r["outcome"] == "not-applicable")
        print(f"{name:12} reference SIB: {passed} passed, {bad} failed, {na} not applicable",
              file=out, flush=True)  # fmt: skip
        total_passed += passed
        total_bad += bad
    wall = time.monotonic() - began
    print(f"demo: {total_passed} passed, {total_bad} failed in {wall:.1f} s wall "
          f"(virtual clock: {args.clock}); results in {args.report_dir}", file=out)  # fmt: skip
    return 0 if total_bad == 0 else 1


def _cmd_selftest(args: argparse.Namespace, out: TextIO) -> int:
    import tempfile
    import time
    from concurrent.futures import ThreadPoolExecutor

    from .run import failed, kill_matrix, run_variant
    from .variants import VARIANTS, sib_class

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
    print(f"selftest: {caught} of {len(names) - 1} faulty SIBs caught, reference "
          f"{'clean' if not any('reference' in p for p in problems) else 'FAILING'}, "
          f"{time.monotonic() - began:.1f} s wall", file=out)  # fmt: skip
    return 0 if not problems else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interop",
        description="IDENT/IAFIS Interoperability conformance harness.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser(
        "validate",
        help="validate messages against the JSON Schemas",
        description=(
            "Validate JSON messages. The schema is chosen by $.type1.tot unless --schema is given."
        ),
    )
    validate.add_argument("files", nargs="*", metavar="FILE")
    validate.add_argument("--schema", choices=schemas.NAMES, help="validate every FILE as this")
    validate.add_argument(
        "--examples", action="store_true", help="validate every example the schemas carry"
    )
    validate.set_defaults(run=_cmd_validate)
    serve = sub.add_parser(
        "serve",
        help="run the mock federal endpoints",
        description="Mock FBI CJIS (IAFIS), DHS IDENT, ICE LESC/DRO and the LEA inboxes over HTTP.",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--clock", default="realtime", help="realtime, scaled:N or manual")
    serve.add_argument("--scenario", help="a shipped scenario name or a scenario JSON file")
    serve.add_argument("--ledger", help="SQLite ledger path (default: in memory)")
    serve.add_argument("--sut-callback", help="the SIB's POST /cjis/responses URL")
    serve.add_argument("--admin-token", help="required for the admin API off loopback")
    serve.set_defaults(run=_cmd_serve)
    example = sub.add_parser(
        "example",
        help="print a synthetic document, dated today",
        description="Print a synthetic, schema-valid document (a CAR is dated today).",
    )
    example.add_argument("kind", choices=["car", "booking", "sut-profile", "scenario"])
    example.add_argument("--seed", type=int, default=0)
    example.add_argument("--state", default="NC", help="NCIC state code")
    example.add_argument("--ori", help="the booking LEA's ORI (default: a synthetic one)")
    example.set_defaults(run=_cmd_example)
    sib = sub.add_parser("sib", help="run the reference SIB or a faulty variant")
    sib.add_argument("--host", default="127.0.0.1")
    sib.add_argument("--port", type=int, default=8701)
    sib.add_argument("--variant", default="reference", help="reference or a faulty variant")
    sib.add_argument("--profile", required=True, help="the SUT profile this SIB serves (JSON)")
    sib.add_argument("--cjis-url", default="http://127.0.0.1:8700", help="the mock CJIS")
    sib.add_argument("--store", help="SQLite store (default: in memory)")
    sib.set_defaults(run=_cmd_sib)
    check = sub.add_parser(
        "check",
        help="run the conformance suite against a SIB",
        description="Start the mock endpoints where the profile's lea_inbox_base points "
        "(or use --mocks-url), run every check that applies to the profile, write results.",
    )
    check.add_argument("--sut-url", default=os.environ.get("SUT_URL"))
    check.add_argument("--sut-profile", default=os.environ.get("SUT_PROFILE"), required=
                       "SUT_PROFILE" not in os.environ)  # fmt: skip
    check.add_argument("--clock", default="manual", help="manual (default), scaled:N, realtime")
    check.add_argument("--mocks-url", help="use mock endpoints already running there")
    check.add_argument("--report-dir", default="reports/out")
    check.add_argument("--requirement", action="append", default=[], help="only these IDs")
    check.add_argument("-v", "--verbose", action="store_true")
    check.add_argument("--signing-key", help="Ed25519 private key (PEM) to sign the report")
    check.set_defaults(run=_cmd_check)
    demo = sub.add_parser(
        "demo", help="mocks + reference SIB + the whole suite, under three SUT profiles"
    )
    demo.add_argument("--report-dir", default="reports/out")
    demo.add_argument("--clock", default="manual")
    demo.add_argument("--signing-key", help="Ed25519 private key (PEM) to sign the reports")
    demo.set_defaults(run=_cmd_demo)
    selftest = sub.add_parser(
        "selftest", help="run the suite against every faulty SIB: the kill matrix"
    )
    selftest.add_argument("--jobs", type=int, default=2)
    selftest.add_argument("--report-dir")
    selftest.set_defaults(run=_cmd_selftest)
    report = sub.add_parser("report", help="re-render a report from its JSON, or verify it")
    report.add_argument("action", choices=["render", "verify"])
    report.add_argument("file", help="report.json")
    report.add_argument("--format", choices=["html", "junit", "md"], default="html")
    report.add_argument("--out", help="where to write the rendering (default: beside the JSON)")
    report.add_argument("--public-key", help="verify: the expected signer's key (hex)")
    report.set_defaults(run=_cmd_report)
    listing = sub.add_parser("schemas", help="list the schemas and their digest")
    listing.set_defaults(run=_cmd_schemas)
    from .replay import add_command as add_replay  # interop replay (its own module)

    add_replay(sub)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    code: int = args.run(args, out or sys.stdout)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
