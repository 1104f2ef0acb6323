"""Back-off: grows by its factor, stops growing at its cap, never gives up."""

from __future__ import annotations

import pytest

from mocks.timing.backoff import Backoff


def test_delays_grow_then_stay_at_the_cap() -> None:
    policy = Backoff(base=0.5, factor=2.0, cap=4.0)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.delay(10_000) == 4.0


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="attempt: 0"):
        Backoff().delay(0)
