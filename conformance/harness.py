"""What the checks use: the mock federal endpoints seen from the suite, and the LEA booking people.

`Mocks` drives the mock server over HTTP (reset, scenario, clock, ledger, inboxes); `Lea` books
synthetic people into the SIB under test the way a local LEA would. Both stay thin: the waiting,
the budgets and the bookkeeping of a check's traffic are in `conformance.traffic`.
"""

from __future__ import annotations

import json
import time
import zlib
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from protocol.ebts import ebts_date, parse_gmt
from synthetic import Synthesizer

__all__ = ["Lea", "Mocks", "check_seed"]


def check_seed(check: str, run_seed: int) -> int:
    """A check's data seed: its name (with parameters) and the run seed, nothing else (not the
    path of the suite or of the report), so a run seed books the same people everywhere."""
    return zlib.crc32(f"{run_seed}:{check}".encode())


_ADVANCE_TIMEOUT = 300.0
"""Wall seconds the harness waits for `POST /admin/clock/advance` to answer."""


class Mocks:
    """The mock federal endpoints, reset for each check."""

    def __init__(
        self,
        base_url: str,
        profile: dict[str, Any],
        sut_url: str,
        token: str | None = None,
    ) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url, timeout=60, headers=headers)
        self.cjis = httpx.Client(timeout=60)
        """Delivers to the SIB as CJIS does (`deliver`, `redeliver`)."""
        self.base_url = base_url
        self.profile = profile
        self.sut_url = sut_url.rstrip("/")
        self.clock = self.http.get("/admin/clock").json()

    def reset(self, **scenario: Any) -> None:
        """Forget everything and take a scenario over the profile's ORIs and NFF state."""
        self.http.post("/admin/reset").raise_for_status()
        self.scenario(**scenario)

    @property
    def callback(self) -> str:
        """Where CJIS delivers to the SIB: its `POST /cjis/responses`, or on the e-mail wire its
        address through its relay (each scenario names it again, so a check that sent the
        deliveries elsewhere leaves none astray for the next)."""
        wire = self.profile.get("wire", {})
        if wire.get("deliveries") == "ebts-smtp":
            return f"mailto:{wire['sib_address']}?relay={wire['sib_relay']}"
        if wire.get("deliveries") == "ebts-http":  # the mocks POST each message as an EBTS file
            return f"ebts+{self.sut_url}/cjis/responses"
        return f"{self.sut_url}/cjis/responses"

    def scenario(self, **scenario: Any) -> None:
        """Take a scenario over the profile's ORIs and NFF state (what was ledgered stays)."""
        document = {
            "name": "check",
            "sut_callback": self.callback,
            "sut_nlets": f"{self.sut_url}/nlets/responses",
            "activated_oris": self.profile["activated_oris"],
            "nff_states": [self.profile["state"]] if self.profile["nff"] else [],
            **scenario,
        }
        response = self.http.post("/admin/scenario", json=document)
        response.raise_for_status()
        self.clock = self.http.get("/admin/clock").json()

    def now(self) -> datetime:
        """Virtual now."""
        return parse_gmt(self.http.get("/admin/clock").json()["now"])

    def advance(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass: at once on a manual clock, else in wall time."""
        mode, scale = self.clock["mode"], float(self.clock["scale"])
        if mode == "manual":
            # The mocks answer once what fell due was tried and owed deliveries settled (at most
            # their `wait`, 30 s, after firing): give them ample time before calling them silent.
            response = self.http.post(
                "/admin/clock/advance", json={"seconds": seconds}, timeout=_ADVANCE_TIMEOUT
            )
            response.raise_for_status()
        else:
            time.sleep(seconds / scale + 0.5)

    def entries(self, **query: str) -> list[dict[str, Any]]:
        """Ledger entries (`tcn`, `ori` or `channel`), each with its `id` and `message`: every page,
        following the ledger's `next` cursor."""
        result: list[dict[str, Any]] = []
        params: dict[str, Any] = dict(query)
        while True:
            response = self.http.get("/admin/ledger", params=params)
            response.raise_for_status()
            page = response.json()
            result.extend(page["entries"])
            if page.get("next") is None:
                return result
            params["after"] = page["next"]

    def submissions(self) -> list[dict[str, Any]]:
        """What the SIB sent CJIS and CJIS took, oldest first."""
        return [e["message"] for e in self.entries(channel="cjis")]

    def nlets(self) -> list[dict[str, Any]]:
        """The name-based IAQs NLETS took for LESC, oldest first (ledger entries: `ori` is the
        sender's, `virtual_time` when NLETS took it)."""
        return self.entries(channel="nlets")

    def refused(self) -> list[dict[str, Any]]:
        """Submission attempts CJIS answered with an injected failure (ledger entries)."""
        return self.entries(channel="cjis-fault")

    def delivered(self) -> list[dict[str, Any]]:
        """What CJIS delivered to the SIB (ledger entries with their delivery state)."""
        return self.entries(channel="sib")

    def routed(self) -> dict[str, list[dict[str, Any]]]:
        """What the SIB routed, by LEA ORI (messages)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for entry in self.entries():
            if entry["channel"].startswith("lea:"):
                out.setdefault(entry["channel"][4:], []).append(entry["message"])
        return out

    def redeliver(self, entry: dict[str, Any]) -> int:
        """Deliver a ledgered CJIS delivery to the SIB again, as CJIS does when it cannot tell
        the first copy arrived: same body, same `X-Interop-Message-Id`; the SIB's HTTP status."""
        return self.deliver(entry["message"], str(entry["id"]), str(entry["virtual_time"]))

    def deliver(self, message: Any, message_id: str, virtual_time: str) -> int:
        """POST a delivery to the SIB's `/cjis/responses` the way CJIS does; its HTTP status."""
        headers = {
            "content-type": "application/json",
            "x-interop-message-id": message_id,
            "x-interop-virtual-time": virtual_time,
        }
        if isinstance(message, dict):
            headers["x-interop-tot"] = str(message.get("type1", {}).get("tot"))
        content = message if isinstance(message, str) else json.dumps(message)
        url = f"{self.sut_url}/cjis/responses"
        return self.cjis.post(url, content=content.encode(), headers=headers).status_code

    def close(self) -> None:
        self.http.close()
        self.cjis.close()


class Lea:
    """A local LEA that books synthetic people into the SIB under test."""

    def __init__(self, sut_url: str, mocks: Mocks, seed: int) -> None:
        self.http = httpx.Client(base_url=sut_url, timeout=60)
        self.mocks = mocks
        self.synth = Synthesizer(seed)

    def booking(
        self,
        ori: str,
        *,
        person: dict[str, Any] | None = None,
        key: str | None = None,
        prior: bool = False,
        days_ago: int = 0,
        charges: int | None = None,
        fbi: str | None = None,
        booking_id: str | None = None,
    ) -> dict[str, Any]:
        """A valid booking arrested `days_ago` (virtual), of a new person or of `person` again
        (under the LEA's booking number `booking_id`, else a fresh one); it carries an FBI number
        only when `fbi` is given (the LEA knows it)."""
        today: date = self.mocks.now().date()
        doa = today - timedelta(days=days_ago)
        prints = self.synth.prints("rolled-ten-print", key=key) if key else None
        listed = self.synth.charges(charges, doa=doa) if charges else None
        booking = self.synth.booking(
            ori,
            doa=doa,
            person=person,
            prior_arrest_in_state=prior,
            prints=prints,
            charges=listed,
            booking_id=booking_id,
        )
        booking.pop("fbi", None)
        if fbi is not None:
            booking["fbi"] = fbi
        assert booking["doa"] == ebts_date(doa)
        return booking

    def book(self, booking: Any) -> httpx.Response:
        """POST a booking to the SIB (as an EBTS file when the profile's wire says so)."""
        if self.mocks.profile.get("wire", {}).get("bookings") == "ebts-http":
            from wire.codec import request_body

            encoded = request_body(booking, "booking")
            if encoded is not None:
                return self.http.post("/bookings", content=encoded[0], headers=encoded[1])
        return self.http.post("/bookings", json=booking)

    def nlets_iaq(
        self, ori: str, person: dict[str, Any], *, tcr: str | None = None, n: int = 1
    ) -> dict[str, Any]:
        """The name-based IAQ LEA `ori` sends LESC through NLETS about `person` (`tcr`: the
        TCN whose no-match IDR led to it; `n`: which of its queries, for a unique `mid`)."""
        mid = f"{ori}-NQ-{self.synth.rng.randrange(16**8):08X}{n:02d}"
        return self.synth.nlets_iaq(person, ori=ori, mid=mid, gmt=self.mocks.now(), tcr=tcr)

    def ask_lesc(self, iaq: dict[str, Any]) -> httpx.Response:
        """Send a name-based IAQ to the SIB, the state's NLETS switch (`POST /nlets/iaq`)."""
        return self.http.post("/nlets/iaq", json=iaq)

    def close(self) -> None:
        self.http.close()
