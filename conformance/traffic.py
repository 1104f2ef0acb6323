"""A check's traffic: bookings followed to CJIS and responses followed to the LEA inboxes, each
waited for within the time budget its requirement names in the catalog.

Real SIBs are store-and-forward: they acknowledge a booking or a delivery and act a moment later.
So nothing here reads the ledger right after a request; `Watch.until` polls for the observable
effect (a submission in the CJIS ledger, a message in an LEA inbox) and returns as soon as it is
seen, or when the budget runs out, or as soon as the outcome is certain: a SIB whose port refuses
connections on several polls in a row can deliver nothing more, and the check fails then, not at
the end of its budget. Negative expectations ("nothing else arrives") watch for a
bounded quiet period. Every check scopes what it looks at to the TCNs of its own bookings, so a
SIB still busy with an earlier check's traffic cannot make it pass or fail.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

import httpx

from protocol.submission import kind_of

from .finding import Finding, expect
from .harness import Lea, Mocks

__all__ = [
    "GONE_AFTER",
    "GONE_SPACING",
    "Budget",
    "CannotCheck",
    "Sent",
    "Traffic",
    "Watch",
    "is_for",
]

_T = TypeVar("_T")
_QUIET_FLOOR = 0.1
"""The shortest quiet period, whatever the budget factor (wall seconds)."""
GONE_AFTER = 4
"""Refused connections in a row, `GONE_SPACING` apart, after which the SIB counts as gone."""
GONE_SPACING = 0.5
"""Wall seconds between two looks at the SIB's port while a check waits."""


class CannotCheck(RuntimeError):
    """The harness could not carry out a check (not a finding about the SIB)."""


class Budget(NamedTuple):
    """A catalog budget as this run applies it (wall budgets multiplied by the budget factor)."""

    name: str
    within: float
    clock: str
    quiet: float
    effect: str


class Watch:
    """The budgets one check may wait for: exactly those its requirement names in the catalog."""

    def __init__(
        self,
        allowed: dict[str, dict[str, Any]],
        *,
        factor: float = 1.0,
        time_faithful: bool = True,
        clock_mode: str = "manual",
        sut_url: str | None = None,
    ) -> None:
        self.allowed = allowed
        self.factor = factor
        self.time_faithful = time_faithful
        self.clock_mode = clock_mode
        self.sut_url = sut_url

    def budget(self, name: str) -> Budget:
        """The budget `name`, scaled for this run."""
        spec = self.allowed.get(name)
        if spec is None:
            raise CannotCheck(f"the check waits for budget {name!r}, which its requirement omits")
        wall = spec["clock"] == "wall"
        within = float(spec["within"]) * (self.factor if wall else 1.0)
        quiet = max(_QUIET_FLOOR, float(spec.get("quiet", 0)) * self.factor)
        return Budget(name, within, spec["clock"], quiet, spec["effect"])

    def until(self, probe: Callable[[], _T], name: str, *, sib_may_be_down: bool = False) -> _T:
        """Poll `probe` until it returns something true, or the wall budget `name` runs out;
        the last value either way. A `Finding` as soon as the SIB (`sut_url`) refused
        connections `GONE_AFTER` times in a row, unless `sib_may_be_down` (a restart)."""
        budget = self.budget(name)
        if budget.clock != "wall":
            raise CannotCheck(f"budget {name!r} is on the virtual clock; it is not waited in wall")
        began = time.monotonic()
        deadline = began + budget.within
        port = None if sib_may_be_down or not self.sut_url else _Port(self.sut_url)
        pause = 0.02
        while True:
            value = probe()
            if value or time.monotonic() >= deadline:
                return value
            gone = port.gone() if port is not None else None
            if gone:
                raise Finding(
                    f"the SIB went away during the wait for '{budget.effect}' (budget {name}, "
                    f"{budget.within:g} s): {gone}, {time.monotonic() - began:.1f} s into the "
                    "wait; nothing more can come from it"
                )
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(0.1, pause * 1.5)

    def quiet(self, name: str) -> None:
        """Watch for the quiet period of budget `name` (nothing is expected to happen)."""
        time.sleep(self.budget(name).quiet)

    def virtual(self, name: str) -> float:
        """Virtual seconds of budget `name`, where the run can tell what the SIB does with them:
        the SIB follows the virtual clock, or the mocks' clock is real time."""
        budget = self.budget(name)
        if budget.clock != "virtual":
            raise CannotCheck(f"budget {name!r} is on the wall clock")
        if not self.time_faithful and self.clock_mode != "realtime":
            raise CannotCheck(
                f"the SUT profile says the SIB does not follow the virtual clock, and the mocks' "
                f"clock is {self.clock_mode}: the SIB cannot be shown to {budget.effect} for "
                f"{budget.within / 3600:.0f} hours; run with --clock realtime to check this"
            )
        return budget.within


class _Port:
    """The SIB's TCP port as a waiting check sees it: `gone()` says so once it refused
    connections `GONE_AFTER` times in a row (looked at no more often than `GONE_SPACING`)."""

    def __init__(self, url: str) -> None:
        where = urlsplit(url)
        self.host = where.hostname or "127.0.0.1"
        self.port = where.port or (443 if where.scheme == "https" else 80)
        self.refused: list[float] = []
        self.next = 0.0

    def gone(self) -> str | None:
        now = time.monotonic()
        if now < self.next:
            return None
        self.next = now + GONE_SPACING
        try:
            socket.create_connection((self.host, self.port), timeout=GONE_SPACING).close()
        except ConnectionRefusedError:
            self.refused.append(now)
        except OSError:
            pass  # a slow or unreachable answer says nothing for sure
        else:
            self.refused.clear()
        if len(self.refused) < GONE_AFTER:
            return None
        span = self.refused[-1] - self.refused[0]
        return (
            f"{self.host}:{self.port} refused connections {len(self.refused)} times in a row "
            f"over {span:.1f} s"
        )


class Sent(NamedTuple):
    """A booking and the submission the SIB sent CJIS for it (its ledger entry)."""

    booking: dict[str, Any]
    entry: dict[str, Any]

    @property
    def tcn(self) -> str:
        return str(self.entry["tcn"])

    @property
    def message(self) -> dict[str, Any]:
        found: dict[str, Any] = self.entry["message"]
        return found

    @property
    def tot(self) -> str:
        return str(self.message.get("type1", {}).get("tot"))

    @property
    def ori(self) -> str:
        return str(self.booking["ori"])


def is_for(message: Any, booking: dict[str, Any]) -> bool:
    """Whether a submission is the SIB's for this booking: a CAR by the prints, a CPI (which has
    none) by the subject's date of birth and a name the booking gives (the booked name or an
    alias). A CPI under the wrong name or LEA is still found, so that the check of the rule it
    breaks says so; `Traffic.forwarded` prefers a submission from the booking LEA."""
    if not isinstance(message, dict):
        return False
    prints = message.get("prints")
    if isinstance(prints, dict):
        return bool(prints.get("biometric_key") == booking["prints"]["biometric_key"])
    type1, type2 = message.get("type1") or {}, message.get("type2") or {}
    person = booking["person"]
    return bool(
        type1.get("tot") == "CPI"
        and type2.get("nam") in [person["nam"], *person.get("aka", [])]
        and type2.get("dob") == person["dob"]
    )


def _describe(booking: dict[str, Any]) -> str:
    return f"booking {booking['booking_id']} of LEA {booking['ori']}"


class Traffic:
    """One check's bookings, submissions and responses."""

    def __init__(self, mocks: Mocks, lea: Lea, watch: Watch) -> None:
        self.mocks = mocks
        self.lea = lea
        self.watch = watch
        self.sent: list[Sent] = []

    # -- bookings to CJIS ----------------------------------------------------------------

    def post(self, booking: dict[str, Any]) -> None:
        """Book, expecting the SIB to take the booking (HTTP 2xx)."""
        response = self.lea.book(booking)
        expect(
            response.status_code < 300,
            f"the SIB refused the valid {_describe(booking)} with HTTP {response.status_code}: "
            f"{response.text[:300]}",
        )

    def book(self, booking: dict[str, Any]) -> Sent:
        """Book and wait for the SIB's CAR or CPI in the CJIS ledger (budget `forward`)."""
        return self.book_all([booking])[0]

    def book_all(self, bookings: list[dict[str, Any]], *, workers: int = 1) -> list[Sent]:
        """Book all (`workers` at a time), then wait for a submission for each."""
        if workers > 1:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(self.post, bookings))
        else:
            for booking in bookings:
                self.post(booking)
        return self.forwarded(bookings)

    def forwarded(self, bookings: list[dict[str, Any]]) -> list[Sent]:
        """The submission for each booking, waited for within budget `forward`."""
        found: dict[int, Sent] = {}
        claimed = {s.tcn for s in self.sent}

        def probe() -> bool:
            for entry in self.mocks.entries(channel="cjis"):
                if entry["tcn"] in claimed:
                    continue
                fits = [
                    i
                    for i, b in enumerate(bookings)
                    if i not in found and is_for(entry["message"], b)
                ]
                same_lea = [i for i in fits if bookings[i]["ori"] == entry.get("ori")]
                for i in (same_lea or fits)[:1]:
                    found[i] = Sent(bookings[i], entry)
                    claimed.add(str(entry["tcn"]))
            return len(found) == len(bookings)

        self.watch.until(probe, "forward")
        missing = [b for i, b in enumerate(bookings) if i not in found]
        budget = self.watch.budget("forward")
        expect(
            not missing,
            f"the SIB took {len(missing)} of {len(bookings)} bookings but sent CJIS no CAR or CPI "
            f"for them within {budget.within:.0f} s: "
            + ", ".join(_describe(b) for b in missing[:5]),
        )
        ordered = [found[i] for i in range(len(bookings))]
        self.sent.extend(ordered)
        return ordered

    def submissions_for(self, booking: dict[str, Any]) -> list[dict[str, Any]]:
        """Every submission CJIS took for this booking's subject (ledger entries)."""
        return [e for e in self.mocks.entries(channel="cjis") if is_for(e["message"], booking)]

    # -- responses to LEAs ---------------------------------------------------------------

    def run(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass (responses fall due and are delivered)."""
        self.mocks.advance(seconds)

    def deliveries(self, *sent: Sent) -> list[dict[str, Any]]:
        """What CJIS delivered to the SIB about these submissions (ledger entries)."""
        tcns = {s.tcn for s in sent}
        return [e for e in self.mocks.delivered() if e.get("tcr") in tcns]

    def routed(self, *sent: Sent, everywhere: bool = False) -> list[dict[str, Any]]:
        """What the SIB routed about these submissions (ledger entries; `channel` is
        `lea:ORI`): to the LEAs that booked them, or with `everywhere` to any LEA."""
        tcns = {s.tcn for s in sent}
        if everywhere:
            found = [e for e in self.mocks.entries() if e["channel"].startswith("lea:")]
        else:
            channels = sorted({f"lea:{s.ori}" for s in sent})
            found = [e for c in channels for e in self.mocks.entries(channel=c)]
        return [e for e in found if _tcr(e["message"]) in tcns]

    def kinds_at(self, ori: str, *sent: Sent) -> list[str]:
        """The kinds of message LEA `ori` received about these submissions, oldest first."""
        return [kind_of(e["message"]) for e in self.routed(*sent) if e["channel"] == f"lea:{ori}"]

    def await_routed(self, ori: str, wanted: Iterable[str], *sent: Sent) -> list[str]:
        """Wait (budget `route`) until LEA `ori` received every kind in `wanted` about these
        submissions; what it received."""
        needed = list(wanted)

        def probe() -> list[str]:
            kinds = self.kinds_at(ori, *sent)
            left = list(kinds)
            for kind in needed:
                if kind not in left:
                    return []
                left.remove(kind)
            return kinds

        return self.watch.until(probe, "route") or self.kinds_at(ori, *sent)

    def restart(self) -> None:
        """Restart the SIB with the SUT profile's command, then wait (budget `restart`) until it
        answers HTTP again."""
        command = self.mocks.profile["restart_command"]
        budget = self.watch.budget("restart").within
        done = subprocess.run(command, capture_output=True, timeout=budget, check=False)
        if done.returncode != 0:
            raise CannotCheck(f"the restart command {command} failed: {done.stderr[-300:]!r}")

        def answers() -> bool:
            try:
                return self.lea.http.get("/bookings").status_code > 0
            except httpx.HTTPError:
                return False

        if not self.watch.until(answers, "restart", sib_may_be_down=True):
            raise CannotCheck(f"the SIB did not answer within {budget:.0f} s of its restart")

    def learned(self, sent: Sent) -> None:
        """Before the same subject is booked again: the SIB has taken the SRE (and, where it
        routes, relayed it), as it would have long before a real repeat arrest."""
        self.watch.until(lambda: _acked(self.deliveries(sent), "SRE"), "route")
        if self.mocks.profile["message_routing"]:
            self.watch.until(lambda: "SRE" in self.kinds_at(sent.ori, sent), "route")
        else:
            self.watch.quiet("route")


def _tcr(message: Any) -> str | None:
    type1 = message.get("type1") if isinstance(message, dict) else None
    return type1.get("tcr") if isinstance(type1, dict) else None


def _acked(entries: list[dict[str, Any]], kind: str) -> bool:
    return any(
        kind_of(e["message"]) == kind and (e.get("delivery") or {}).get("state") == "delivered"
        for e in entries
    )
