"""What every `interop` subcommand shares: the one-line error, the parser that prints one line on
a usage error, help that shows each option's default, and the exit codes."""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any, NoReturn

import schemas

__all__ = [
    "REPORT_DIR",
    "USAGE",
    "CliError",
    "HelpFormatter",
    "Parser",
    "UsageError",
    "add_run_options",
    "add_signing_key",
    "exit_codes_help",
    "schema_value",
]

USAGE = 2
"""The exit code of a usage error (bad or missing arguments, unknown requirement IDs)."""

REPORT_DIR = "interop-reports"
"""Where `interop check` and `interop demo` write reports unless told: a folder of that name in
the working directory (never inside the harness's own packages)."""


class CliError(Exception):
    """A problem the person can fix, said in one line; `code` is the exit code. An empty
    message ends the command with `code` after it has said what it had to."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


class UsageError(CliError):
    """A usage error found after the arguments were parsed (an option that does not fit the
    others): said in one line that ends pointing at the command's help, exit code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, USAGE)


class HelpFormatter(argparse.HelpFormatter):
    """Help that ends each option's text with its default, when it has one and the text does not
    say it already; descriptions are wrapped by line, and lines that start with a space are kept
    as they are."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if line.startswith(" ") or not line:
                lines.append(indent + line)
            else:
                lines.append(
                    textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent)
                )
        return "\n".join(lines)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" not in text
            and "(default:" not in text
            and default not in (None, False, [], argparse.SUPPRESS)
            and action.option_strings
        ):
            text += " (default: %(default)s)"
        return text


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: what is wrong and where to look."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(USAGE)


def add_signing_key(parser: Any, signs: str) -> None:
    """`--signing-key`: the Ed25519 key that signs ``signs`` (e.g. "the report")."""
    parser.add_argument(
        "--signing-key",
        metavar="PEM",
        help=f"Ed25519 private key (PKCS#8 PEM) that signs {signs} (default: "
        "INTEROP_SIGNING_KEY, else a throwaway key)",
    )


def _budget_factor(value: str) -> float:
    """An argparse type: a `--budget-factor`, a number above 0."""
    try:
        factor = float(value)
    except ValueError:
        factor = 0.0
    if not factor > 0 or factor == float("inf"):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a budget factor: give a number above 0 (1 waits for every budget "
            "whole, 0.05 for a twentieth)"
        )
    return factor


def add_run_options(parser: Any, *, seed: str, budget_factor: str) -> None:
    """`--run-seed` and `--budget-factor` of a suite run (the conformance plugin's options);
    `seed` and `budget_factor` say their defaults. Both left out stay None."""
    parser.add_argument(
        "--run-seed",
        type=int,
        metavar="N",
        help=f"seeds the synthetic data and the random order of the checks (default: {seed})",
    )
    parser.add_argument(
        "--budget-factor",
        type=_budget_factor,
        metavar="F",
        help="multiply every wall-clock budget and quiet period of the catalog by F, recorded "
        "in the report; below 1 only makes the checks stricter, above 1 the run is incomplete "
        f"at best (default: {budget_factor})",
    )


def exit_codes_help() -> str:
    """The exit codes, one per verdict as `schemas/report.json` documents them, and usage."""
    codes: dict[str, int] = schema_value("report", "properties", "verdict", "x-exit-codes")
    listed = sorted([*codes.items(), ("usage error", USAGE)], key=lambda item: item[1])
    return "exit codes: " + ", ".join(f"{code} {name}" for name, code in listed)


def schema_value(name: str, *path: str) -> Any:
    """A value inside one of the schemas (e.g. a verdict's exit code)."""
    node: Any = schemas.schema(name)
    for part in path:
        node = node[part]
    return node
