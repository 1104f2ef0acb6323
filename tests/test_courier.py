"""The courier's waits on a manual clock: a delivery waited on from before it was written is
known tried without asking the ledger, and the ledger is asked for the next retry only while one
was put off."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from mocks.delivery.courier import Courier
from mocks.storage.ledger import Ledger
from mocks.storage.records import Op, delivery_op, message_op
from mocks.timing.backoff import Backoff

pytestmark = pytest.mark.anyio

_TARGET = "http://sib.test/cjis/responses"


def _owed(message_id: str) -> tuple[Op, Op]:
    return (
        message_op(
            id=message_id,
            direction="out",
            channel="sib",
            tot="SRE",
            tcn=message_id,
            tcr="T1",
            ori="NC0410000",
            virtual_time="2026-01-05T10:00:00Z",
            body="{}",
        ),
        delivery_op(message_id=message_id, target=_TARGET, order_key="T1"),
    )


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what}: not within 5 s")


async def test_a_delivery_expected_before_it_was_written_is_known_tried_without_the_ledger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Ledger() as ledger:
        courier = Courier(ledger, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
        await courier.start()
        try:
            courier.expect(["SRE-1"])
            await ledger.write(*_owed("SRE-1"))
            courier.kick()
            await _until(lambda: courier.delivered == 1, "the delivery")

            async def asked(ids: list[str]) -> list[tuple[str, bool]]:
                raise AssertionError(f"the ledger was asked whether {ids} were tried")

            monkeypatch.setattr(ledger, "tried", asked)
            # Tried before anyone waited: the wait registered before the write knows it.
            assert await asyncio.wait_for(courier.attempted(["SRE-1"], 5), 5) is True
        finally:
            await courier.stop()


async def test_a_delivery_not_expected_is_looked_up_and_an_unexpected_write_forgotten() -> None:
    async with Ledger() as ledger:
        courier = Courier(ledger, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
        await courier.start()
        try:
            await ledger.write(*_owed("SRE-2"))
            courier.kick()
            await _until(lambda: courier.delivered == 1, "the delivery")
            # Nobody waited: the ledger says it was tried, and taken.
            assert await asyncio.wait_for(courier.attempted(["SRE-2"], 5), 5) is True
            courier.expect(["SRE-3"])
            courier.unexpect(["SRE-3"])  # its write failed: nobody waits on it any more
            assert courier._expected == {}
            assert "SRE-3" not in courier._waiters
        finally:
            await courier.stop()


async def test_the_next_retry_is_asked_for_only_while_one_was_put_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = [503, 200]
    async with Ledger() as ledger:
        looks: list[float] = []
        look = ledger.next_delivery_due

        async def counted(after: float) -> float | None:
            looks.append(after)
            return await look(after)

        monkeypatch.setattr(ledger, "next_delivery_due", counted)
        transport = httpx.MockTransport(lambda r: httpx.Response(answers.pop(0)))
        courier = Courier(ledger, transport=transport, backoff=Backoff(0.05, 2, 0.05))
        await courier.start()
        try:
            await _until(lambda: len(looks) == 1, "the first look (a previous run's retries)")
            await ledger.write(*_owed("SRE-4"))
            courier.kick()
            await _until(lambda: courier.delivered == 1, "the retried delivery")
            assert courier.retried == 1
            asked = len(looks)
            assert asked >= 2  # put off once: the ledger said when it fell due
            courier.kick()
            await asyncio.sleep(0.1)  # woken with nothing owed and nothing put off
            assert len(looks) == asked
        finally:
            await courier.stop()
