"""`interop replay`: Figure 1's metrics read from the ledger, and a small replay end to end."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import respx

from conformance.figure1 import metrics
from interop import main
from mocks.state.service import MockService
from synthetic import Synthesizer
from tests.conftest import START, booking_car, manual_clock


def test_metrics_count_transmissions_matches_and_levels_from_the_ledger(tmp_path: Path) -> None:
    synth = Synthesizer(8)
    keys = {kind: [synth.biometric_key() for _ in range(n)] for kind, n in
            (("level1", 2), ("level2", 3), ("usc", 1), ("none", 4))}  # fmt: skip
    outcome = {
        "level1": {"ident": "match", "offense_level": 1, "alienage": "alien"},
        "level2": {"ident": "match", "offense_level": 2, "alienage": "alien"},
        "usc": {"ident": "match", "alienage": "us-citizen"},
        "none": {"ident": "no-match"},
    }
    overrides = [
        {"when": {"biometric_key": key}, "outcome": outcome[kind]}
        for kind, listed in keys.items()
        for key in listed
    ]
    sib = respx.MockRouter(assert_all_called=False)
    sib.route().respond(200)
    ledger = tmp_path / "ledger.sqlite3"

    async def run() -> None:

        service = MockService(
            clock=manual_clock(),
            scenario={"overrides": overrides},
            ledger=ledger,
            callback="http://sib.test/cjis/responses",
            transport=httpx.MockTransport(sib.async_handler),
        )
        async with service:
            for listed in keys.values():
                for key in listed:
                    await service.submit(booking_car(synth, key=key))
            await service.advance(5 * 3600)

    asyncio.run(run())
    found = metrics(ledger)
    total = found["total"]
    assert (total["transmissions"], total["searched"], total["matches"]) == (10, 10, 6)
    assert total["us_citizens"] == 1
    # The level is the most serious of the forced one and the instant charges (SOP Appendix A).
    assert total["level_1"] + total["level_2_3"] == 5
    assert total["level_1"] >= 2
    assert list(found["months"]) == [START[:7]]


def test_a_small_replay_loses_nothing_and_prints_figure_1(tmp_path: Path) -> None:
    out = io.StringIO()
    code = main(
        ["replay", "--submissions", "30", "--days", "0.5", "--scale", "20000",
         "--ledger", str(tmp_path / "replay.sqlite3")],
        out,
    )  # fmt: skip
    text = out.getvalue()
    assert code == 0, text
    assert "lost 0" in text
    assert "matches / transmissions" in text
    assert "NLETS by name (ours; Figure 1 has no such column)" in text
    found = metrics(tmp_path / "replay.sqlite3")
    assert found["total"]["transmissions"] == 30
    total = found["total"]
    assert total["nlets_candidates"] + total["nlets_no_record"] == total["nlets_iaqs"]
