"""What every faulty variant shares: it is not a correct design, and names the rules it breaks."""

from __future__ import annotations

import json
from typing import Any

from ..reference import ReferenceSib

__all__ = ["Faulty", "edit_relay"]


class Faulty(ReferenceSib):
    """A SIB with one plausible defect of a real switch (its docstring says which)."""

    correct = False


def edit_relay(raw: bytes, edit: Any) -> bytes:
    """The delivery re-encoded after `edit(message)` changed it in place (a partial relay)."""
    message = json.loads(raw)
    edit(message)
    return json.dumps(message).encode()
