"""`interop report render|verify`: a report re-rendered from its JSON alone, or its signature
checked."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from .common import CliError

__all__ = ["add_command"]


def _load(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise CliError(f"{path} is not JSON: {exc}") from None


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    from reports.signing import SignatureError, verify

    report = _load(args.file)
    try:
        verify(report, public_key=args.public_key)
    except SignatureError as exc:
        print(f"NOT VERIFIED {args.file}: {exc}", file=out)
        return 1
    except ValueError as exc:
        raise CliError(f"--public-key is not hex: {exc}") from None
    who = "a throwaway key" if report["signature"]["throwaway"] else "its key"
    print(
        f"verified {args.file}: signed by {who} {report['signature']['public_key'][:16]}…, "
        f"schemas match, verdict {report['verdict']}",
        file=out,
    )
    return 0


def _render(args: argparse.Namespace, out: TextIO) -> int:
    import schemas
    from reports.files import FORMATS, render
    from reports.signing import signature_problem

    report = _load(args.file)
    found = schemas.problems("report", report)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise CliError(f"{args.file} is not a valid report, not rendered: {found[0]}{more}", 1)
    problem = signature_problem(report)
    if problem is not None and not args.force:
        raise CliError(
            f"{args.file}: the signature does not verify ({problem}); not rendered "
            "(--force renders it under a warning that says so)",
            1,
        )
    target = Path(args.out) if args.out else Path(args.file).with_name(FORMATS[args.format][0])
    target.write_text(render(report, args.format))
    print(f"wrote {target}", file=out)
    return 0


def _action(args: argparse.Namespace, out: TextIO) -> int:
    return _verify(args, out) if args.action == "verify" else _render(args, out)


def add_command(subparsers: Any) -> None:
    """Register `report`."""
    report = subparsers.add_parser(
        "report",
        help="re-render a report from its JSON, or verify its signature",
        description="render: validate report.json against schemas/report.json, verify its "
        "signature (one that does not verify: refused, or with --force rendered under a "
        "warning) and render it (html, junit or md). verify: check the schema, the schemas "
        "digest and the Ed25519 signature (exit 0 verified, 1 not).",
    )
    report.add_argument("action", choices=["render", "verify"], help="render or verify")
    report.add_argument("file", help="the report.json")
    report.add_argument(
        "--format", choices=["html", "junit", "md"], default="html", help="render: the format"
    )
    report.add_argument(
        "--out",
        metavar="FILE",
        help="render: where to write (default: beside the JSON, as "
        "report.html, junit.xml or summary.md)",
    )
    report.add_argument(
        "--force",
        action="store_true",
        help="render: a report whose signature does not verify too, under a red warning",
    )
    report.add_argument(
        "--public-key",
        metavar="HEX",
        help="verify: the expected signer's raw Ed25519 public key, hex in either case",
    )
    report.set_defaults(run=_action)
