"""Small helpers the generators share."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, TypeVar

__all__ = ["Doc", "weighted"]

Doc = dict[str, Any]
"""A JSON document (a message, a booking, a profile), shaped by its schema."""

_T = TypeVar("_T")


def weighted(rng: random.Random, pairs: Sequence[tuple[_T, float]]) -> _T:
    """One value of ``(value, weight)`` pairs, drawn by weight."""
    values = [v for v, _ in pairs]
    weights = [w for _, w in pairs]
    return rng.choices(values, weights=weights, k=1)[0]
