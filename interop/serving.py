"""`interop serve` (the mock federal endpoints) and `interop sib` (our SIB or a faulty one)."""

from __future__ import annotations

import argparse
import errno
import gc
import os
import socket
import sys
from pathlib import Path
from typing import Any, TextIO

from .common import CliError

__all__ = ["add_command", "add_mocks_clock", "clock_spec", "listen_error"]

_YOUNG_COLLECTION = 7000
"""The collector's first threshold in a process that only serves (Python's is 700)."""


def _serving_only() -> None:
    """This process only serves from here on. What is loaded now (code, schemas, synthetic data)
    lives as long as it does, so the collector need not walk it again (shorter pauses under
    load); and what a request leaves behind is freed by reference counting as it goes, so the
    young generation is collected ten times less often: the collector only finds the rare cycle,
    and a pass costs about as much after 7,000 new objects as after 700, since it walks those
    still alive (the requests in flight)."""
    gc.freeze()
    gc.set_threshold(_YOUNG_COLLECTION, *gc.get_threshold()[1:])


def clock_spec(value: str) -> str:
    """An argparse type: a valid `--clock` value."""
    from mocks.timing.clock import VirtualClock

    try:
        VirtualClock.parse(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a clock: give manual, scaled:N (N > 0, e.g. scaled:3600) or realtime"
        ) from None
    return value


def add_mocks_clock(parser: Any) -> None:
    """`--clock` of a run that starts the mocks itself: manual unless told otherwise."""
    parser.add_argument(
        "--clock",
        default="manual",
        type=clock_spec,
        help="the mocks' clock: manual, scaled:N or realtime",
    )


def _cidr(value: str) -> str:
    """An argparse type: a network (CIDR) or address."""
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a network (e.g. 10.0.0.0/8)") from None
    return value


def _admin_token(args: argparse.Namespace, err: TextIO) -> str | None:
    """The admin token: from --admin-token-file, INTEROP_ADMIN_TOKEN or (warned) --admin-token."""
    if args.admin_token_file:
        try:
            with open(args.admin_token_file, encoding="utf-8") as file:
                token = file.readline().strip()
        except OSError as exc:
            raise CliError(f"--admin-token-file: {exc.strerror or exc}") from None
        if not token:
            raise CliError(f"--admin-token-file: {args.admin_token_file} holds no token")
        return token
    if args.admin_token:
        print(
            "warning: --admin-token is visible to every local user (ps); prefer "
            "INTEROP_ADMIN_TOKEN or --admin-token-file",
            file=err,
        )
        return str(args.admin_token)
    return os.environ.get("INTEROP_ADMIN_TOKEN") or None


def _check_port(host: str, port: int, option: str = "--port") -> None:
    """One line, before the server starts, when it cannot listen there (the port is held, or the
    host is not an address of this machine); `option` is the one that gave the port."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise CliError(listen_error(host, port, exc, option)) from None


def listen_error(host: str, port: int, exc: OSError, option: str = "--port") -> str:
    """Why a server cannot listen on `host` and `port`, and what to change: the port (given by
    `option`) when it is held (or privileged), else the host."""
    said = f"cannot listen on {host} port {port} ({exc.strerror or exc})"
    if exc.errno in (errno.EADDRINUSE, errno.EACCES):
        return f"{said}: stop what holds it or give another {option}"
    return f"{said}: give --host an address of this machine (127.0.0.1, or 0.0.0.0 for all)"


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    from mocks.agencies.scenario import Scenario, scenario_names
    from mocks.servers.server import is_loopback, server, uvicorn_mocks
    from mocks.state.service import MockService

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
            admin_token=_admin_token(args, sys.stderr),
        )
        _check_port(args.host, args.port)
        security = None
        if args.smtp_port is not None:
            _check_port(args.host, args.smtp_port, "--smtp-port")
            if not is_loopback(args.host) and not args.smtp_allow:
                raise CliError(
                    f"--host {args.host} is off loopback: give --smtp-allow CIDR (the clients "
                    "that may send mail) so that not anyone may submit (rule: safe by default)"
                )
            security = _mail_security(args)
        # Beside SMTP the mocks run under uvicorn (its server serves both); alone, on http11.
        alone = server(service, host=args.host, port=args.port) if args.smtp_port is None else None
        beside = uvicorn_mocks(service, host=args.host, port=args.port) if alone is None else None
    except CliError:
        raise
    except (ValueError, OSError) as exc:
        raise CliError(str(exc).splitlines()[0]) from None
    _serving_only()
    where = args.ledger or "in memory"
    print(
        f"mock CJIS/IDENT/LESC on http://{args.host}:{args.port} "
        f"(clock {args.clock}, scenario {service.scenario.name}, ledger {where})",
        file=out,
        flush=True,
    )
    try:
        if alone is not None:
            alone.run()
            return 0
        assert beside is not None
        from mocks.servers.smtp import run_with_smtp

        offers = _offers(security)
        print(
            f"mock CJIS by e-mail: SMTP on {args.host}:{args.smtp_port}{offers}",
            file=out,
            flush=True,
        )
        run_with_smtp(
            beside,
            service,
            host=args.host,
            port=args.smtp_port,
            reply_relay=args.smtp_relay,
            allow=args.smtp_allow,
            security=security,
        )
    except OSError as exc:
        raise CliError(listen_error(args.host, args.port, exc)) from None
    return 0


def _mail_security(args: argparse.Namespace) -> Any:
    """The SMTP intake's STARTTLS and AUTH from the flags (ValueError naming the flag)."""
    from mocks.transport.mailsecurity import (
        MailSecurity,
        credentials,
        self_signed_context,
        server_context,
    )

    if (args.smtp_cert is None) != (args.smtp_key is None):
        raise ValueError("--smtp-cert and --smtp-key go together (a certificate and its key)")
    if args.smtp_no_tls and (args.smtp_cert or args.smtp_require_tls):
        raise ValueError("--smtp-no-tls cannot go with --smtp-cert or --smtp-require-tls")
    tls = None
    if args.smtp_cert is not None:
        tls = server_context(Path(args.smtp_cert), Path(args.smtp_key))
    elif not args.smtp_no_tls:
        tls = self_signed_context(args.host if args.host not in ("0.0.0.0", "::") else "localhost")
    try:
        users = credentials(path=Path(args.smtp_auth_file) if args.smtp_auth_file else None)
    except OSError as exc:
        raise ValueError(f"--smtp-auth-file: {exc}") from None
    return MailSecurity(tls, bool(args.smtp_require_tls), users)


def _offers(security: Any) -> str:
    said = []
    if security.tls is not None:
        said.append("STARTTLS required" if security.require_tls else "STARTTLS")
    if security.users:
        said.append(f"AUTH PLAIN/LOGIN required ({len(security.users)} users)")
    return f" ({', '.join(said)})" if said else ""


def _sib(args: argparse.Namespace, out: TextIO) -> int:
    from protocol.profile import ProfileError, load_sut_profile
    from sibs.server import SibServer
    from sibs.variants import sib_class

    try:
        profile = load_sut_profile(args.profile)
    except OSError as exc:
        raise CliError(f"cannot read the SUT profile {args.profile}: {exc.strerror}") from None
    except ProfileError as exc:
        raise CliError(f"the SUT profile is not valid: {exc}") from None
    _check_port(args.host, args.port)
    cls = sib_class(args.variant)
    sib = cls(profile, cjis_url=args.cjis_url, store=args.store)
    print(
        f"SIB '{cls.name}' for {profile['state']} on http://{args.host}:{args.port} "
        f"(CJIS at {args.cjis_url}, LEA inboxes at {profile['lea_inbox_base']})",
        file=out,
        flush=True,
    )
    _serving_only()
    try:
        SibServer(sib, host=args.host, port=args.port).run()
    except OSError as exc:
        raise CliError(listen_error(args.host, args.port, exc)) from None
    return 0


def add_command(subparsers: Any) -> None:
    """Register `serve` and `sib`."""
    _add_serve(subparsers)
    _add_sib(subparsers)


def _add_serve(subparsers: Any) -> None:
    from mocks.agencies.scenario import scenario_names

    serve = subparsers.add_parser(
        "serve",
        help="run the mock federal endpoints",
        description="Mock FBI CJIS (IAFIS), DHS IDENT, ICE LESC/DRO and the LEA inboxes over "
        "HTTP, all on one port; OpenAPI 3.1 at /openapi.json.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address to bind")
    serve.add_argument("--port", type=int, default=8700, help="the port to listen on")
    serve.add_argument(
        "--clock",
        default="realtime",
        type=clock_spec,
        help="virtual time: realtime, scaled:N (N times faster) or manual "
        "(moved by POST /admin/clock/advance)",
    )
    serve.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        help=f"a shipped scenario ({', '.join(scenario_names())}) or a scenario "
        "JSON file (schemas/scenario.json) (default: default)",
    )
    serve.add_argument(
        "--ledger",
        metavar="PATH",
        help="the SQLite ledger, kept across restarts (default: in memory)",
    )
    serve.add_argument(
        "--sut-callback",
        metavar="URL",
        help="where responses are POSTed: the SIB's /cjis/responses",
    )
    serve.add_argument(
        "--admin-token",
        help="the admin token on the command line, where every local user sees it in ps: "
        "prefer INTEROP_ADMIN_TOKEN or --admin-token-file (required off loopback)",
    )
    serve.add_argument(
        "--admin-token-file",
        metavar="PATH",
        help="read the admin token from this file (its first line)",
    )
    serve.add_argument(
        "--smtp-allow",
        metavar="CIDR",
        action="append",
        type=_cidr,
        help="a client network that may send mail (repeatable; required for SMTP off loopback)",
    )
    serve.add_argument(
        "--smtp-port",
        type=int,
        help="also take EBTS transactions by e-mail (SMTP) on this port (default: no SMTP)",
    )
    serve.add_argument(
        "--smtp-relay",
        metavar="HOST:PORT",
        help="where to mail responses, to the sender of the first e-mail, when no "
        "--sut-callback is given (default: none)",
    )
    serve.add_argument(
        "--smtp-cert",
        metavar="PEM",
        help="the SMTP intake's STARTTLS certificate (with --smtp-key; default: a self-signed "
        "one made at start)",
    )
    serve.add_argument("--smtp-key", metavar="PEM", help="the key of --smtp-cert")
    serve.add_argument(
        "--smtp-no-tls", action="store_true", help="do not offer STARTTLS on the SMTP intake"
    )
    serve.add_argument(
        "--smtp-require-tls",
        action="store_true",
        help="refuse MAIL before STARTTLS (530)",
    )
    serve.add_argument(
        "--smtp-auth-file",
        metavar="FILE",
        help="require AUTH PLAIN/LOGIN with these USER:PASSWORD lines (also: the environment's "
        "INTEROP_SMTP_AUTH=USER:PASSWORD); never on the command line",
    )
    serve.set_defaults(run=_serve)


def _add_sib(subparsers: Any) -> None:
    from sibs.variants import CORRECT, VARIANTS

    variants = ["reference", *CORRECT, *VARIANTS]
    sib = subparsers.add_parser(
        "sib",
        help="run the reference SIB, another correct design or a faulty variant",
        description="Our SIB, to stand in for yours: the reference one, another correct design "
        f"({', '.join(CORRECT)}: each must pass every check), or a faulty variant that breaks "
        "one rule (the suite must catch it).",
    )
    sib.add_argument("--host", default="127.0.0.1", help="the address to bind")
    sib.add_argument("--port", type=int, default=8701, help="the port to listen on")
    sib.add_argument(
        "--variant",
        default="reference",
        choices=variants,
        metavar="NAME",
        help=f"the SIB to run: {', '.join(variants)}",
    )
    sib.add_argument(
        "--profile",
        required=True,
        metavar="FILE",
        help="the SUT profile this SIB serves (JSON, schemas/sut-profile.json)",
    )
    sib.add_argument(
        "--cjis-url",
        default="http://127.0.0.1:8700",
        metavar="URL",
        help="where the SIB sends CARs and CPIs: the mocks",
    )
    sib.add_argument("--store", metavar="PATH", help="SQLite store (default: in memory)")
    sib.set_defaults(run=_sib)
