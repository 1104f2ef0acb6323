"""Capped exponential back-off: how long to wait before the next attempt of a delivery.

One policy for everything in the harness that sends again after a failure (the mocks' courier, the
reference SIB's forwarding and routing). It is a pure function of the attempt number, so a sender
that keeps its attempts in a durable store (a ledger, a SIB's queue) computes the next due time
from the stored count after a restart, and nothing is ever given up: the delay stops growing at
`cap`, the attempts go on.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Backoff"]


class Backoff(NamedTuple):
    """`base * factor ** (attempt - 1)` seconds, never more than `cap`."""

    base: float = 0.05
    factor: float = 2.0
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 is the first attempt)."""
        if attempt < 1:
            raise ValueError(f"attempt: {attempt} is not a positive attempt number")
        exponent = min(attempt - 1, 64)
        return float(min(self.cap, self.base * self.factor**exponent))
