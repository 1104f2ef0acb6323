"""The preflight: what must hold before the first check, each failure one line saying what to fix.

In order: the clock value, the SUT profile, the signing key, the report directory (`static`); the
SIB answering, the mocks' port free or the mocks answering (`network`); then, with the mocks up, a
round trip (`round_trip`): one synthetic booking into the SIB whose submission must reach the mock
CJIS within a budget. The round trip books one person (seeded from the run) at the first activated
ORI that receives responses; the mocks are reset after it (and before every check), so it leaves
nothing in their ledger; the SIB keeps that transaction as it would any other.
"""

from __future__ import annotations

import socket
import tempfile
import time
import zlib
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from mocks.timing.clock import VirtualClock
from protocol.ebts import parse_gmt
from protocol.profile import ProfileError, load_sut_profile
from reports.signing import SignatureError, load_or_create_key
from synthetic import Synthesizer

__all__ = ["Problem", "network", "round_trip", "static", "writable"]

_HTTP_TIMEOUT = 5.0


class Problem(NamedTuple):
    """A preflight item that does not hold: which (`clock`, `profile`, `signing-key`,
    `report-dir`, `sut`, `mocks`, `round-trip`) and one line saying what is wrong and what to
    do."""

    item: str
    line: str


def static(
    *,
    clock: str,
    profile_path: str | Path,
    signing_key: str | Path | None,
    report_dir: str | Path | None = None,
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The clock value, the profile, the signing key and (when given) that the report directory
    can be written; the profile when it is valid."""
    problems = []
    try:
        VirtualClock.parse(clock)
    except ValueError:
        problems.append(
            Problem(
                "clock",
                f"--clock {clock!r} is not a clock: give manual, scaled:N "
                "(N > 0, e.g. scaled:3600) or realtime",
            )
        )
    profile = None
    try:
        profile = load_sut_profile(profile_path)
    except OSError as exc:
        problems.append(
            Problem("profile", f"cannot read the SUT profile {profile_path}: {exc.strerror}")
        )
    except ProfileError as exc:
        problems.append(
            Problem(
                "profile", f"the SUT profile is not valid: {exc} (schema: schemas/sut-profile.json)"
            )
        )
    if signing_key is not None:
        try:
            load_or_create_key(signing_key)
        except SignatureError as exc:
            problems.append(
                Problem(
                    "signing-key",
                    f"{exc}: give an Ed25519 PKCS#8 PEM file "
                    "(--signing-key or INTEROP_SIGNING_KEY), or none for a throwaway key",
                )
            )
    if report_dir is not None:
        problem = writable(report_dir)
        if problem is not None:
            problems.append(problem)
    return profile, problems


def writable(folder: str | Path) -> Problem | None:
    """Whether reports can be written into `folder` (made if missing): a file is created in it
    and removed, so a read-only mount, a path under a regular file or a full disk show now."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder) as probe:
            probe.write(b"interop")
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        return Problem(
            "report-dir",
            f"cannot write the report to {folder} ({why}): give a --report-dir you can write to",
        )
    return None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    if "refused" in text.lower():
        return "connection refused"
    return text.splitlines()[0] if text else type(exc).__name__


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def network(
    *,
    sut_url: str,
    mocks_url: str | None,
    mocks_at: tuple[str, int] | None = None,
    token: str | None = None,
) -> list[Problem]:
    """The SIB answers (any HTTP answer will do) and either the mocks answer at `mocks_url`, or
    the port they are to be started on (`mocks_at`) is free."""
    problems = []
    try:
        httpx.get(sut_url, timeout=_HTTP_TIMEOUT)
    except httpx.HTTPError as exc:
        problems.append(
            Problem(
                "sut",
                f"nothing answers at the SIB's URL {sut_url} ({_reason(exc)}): "
                "start your SIB, or fix --sut-url (or sut_url in the profile)",
            )
        )
    if mocks_url:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        try:
            httpx.get(
                f"{mocks_url.rstrip('/')}/admin/clock", timeout=_HTTP_TIMEOUT, headers=headers
            ).raise_for_status()
        except httpx.HTTPError as exc:
            problems.append(
                Problem(
                    "mocks",
                    f"the mocks at {mocks_url} do not answer ({_reason(exc)}): "
                    "start `interop serve` there, or leave out --mocks-url",
                )
            )
    elif mocks_at is not None and not _port_free(*mocks_at):
        host, port = mocks_at
        problems.append(
            Problem(
                "mocks",
                f"port {port} on {host}, where the profile's lea_inbox_base puts "
                "the mocks, is in use: stop what holds it, give --mocks-url if it is "
                "`interop serve`, or change lea_inbox_base",
            )
        )
    return problems


def _usable_ori(profile: dict[str, Any]) -> str | None:
    opted_out = set(profile.get("opted_out_oris", []))
    return next((o for o in profile["activated_oris"] if o not in opted_out), None)


def _booking(profile: dict[str, Any], today: date, seed: int) -> dict[str, Any] | None:
    ori = _usable_ori(profile)
    if ori is None:
        return None
    booking = Synthesizer(seed).booking(ori, doa=today)
    booking.pop("fbi", None)
    booking["person"].pop("aka", None)  # the plainest booking: the round trip tests the wiring
    return booking


def round_trip(
    *,
    mocks_url: str,
    sut_url: str,
    profile: dict[str, Any],
    budget: float = 30.0,
    token: str | None = None,
    seed: str = "preflight",
) -> Problem | None:
    """Book one synthetic person into the SIB and wait up to `budget` wall seconds for its
    submission at the mock CJIS; the mocks are reset before and after."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=mocks_url, timeout=_HTTP_TIMEOUT, headers=headers) as mocks:
        mocks.post("/admin/reset").raise_for_status()
        today = parse_gmt(mocks.get("/admin/clock").json()["now"]).date()
        booking = _booking(profile, today, zlib.crc32(seed.encode()))
        if booking is None:
            return Problem(
                "profile",
                "the SUT profile lists no activated ORI that receives "
                "responses: add one to activated_oris",
            )
        try:
            return _book_and_wait(mocks, sut_url, booking, budget, mocks_url)
        finally:
            mocks.post("/admin/reset").raise_for_status()


def _arrived(mocks: httpx.Client) -> bool:
    """Whether any submission reached the mock CJIS (taken, or answered with a fault)."""
    return any(
        mocks.get("/admin/ledger", params={"channel": channel}).json()["entries"]
        for channel in ("cjis", "cjis-fault")
    )


def _book_and_wait(
    mocks: httpx.Client, sut_url: str, booking: dict[str, Any], budget: float, mocks_url: str
) -> Problem | None:
    cjis = f"{mocks_url.rstrip('/')}/cjis/submissions"
    hint = f"point the SIB's CJIS address at {cjis} (interop sib: --cjis-url {mocks_url})"
    began = time.monotonic()
    try:
        answer = httpx.post(f"{sut_url}/bookings", json=booking, timeout=budget)
    except httpx.TimeoutException:
        return Problem(
            "round-trip",
            f"the SIB did not answer a valid booking within {budget:g} s;"
            f" if it forwards while answering: {hint}",
        )
    except httpx.HTTPError as exc:
        return Problem(
            "round-trip", f"the SIB did not take a booking at {sut_url}/bookings ({_reason(exc)})"
        )
    if answer.status_code >= 500:
        return Problem(
            "round-trip",
            f"the SIB failed a valid booking (HTTP {answer.status_code}); if it could not "
            f"forward it to CJIS: {hint}",
        )
    if answer.status_code >= 300:
        return Problem(
            "round-trip",
            f"the SIB refused a valid booking from {booking['ori']} (HTTP "
            f"{answer.status_code}): check activated_oris and the SIB's booking interface "
            "(schemas/sib.openapi.json)",
        )
    while True:
        if _arrived(mocks):
            return None
        if time.monotonic() - began >= budget:
            break
        time.sleep(0.1)
    return Problem(
        "round-trip",
        f"the SIB took a booking (HTTP {answer.status_code}) but no "
        f"submission reached the mock CJIS within {budget:g} s: {hint}",
    )
