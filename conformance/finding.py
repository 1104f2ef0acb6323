"""A finding: what a check saw the SIB do wrong, in domain words, with the evidence that shows it.

Checks state their expectations with `expect(...)` (or raise `Finding`); the message is the
sentence a certifier reads in the report ("expected the IDR/IAR for TCN … at LEA NC0140000 once,
unaltered; it arrived twice"), and `evidence` names the ledger entries (their `id`) that show the
defect, so the report can highlight them.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Finding", "expect"]


class Finding(AssertionError):
    """The SIB broke a rule: `message` says how; `evidence` names the ledger entries showing it."""

    def __init__(self, message: str, *, evidence: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.evidence = tuple(str(e) for e in evidence)


def expect(condition: object, message: str, *, evidence: Iterable[str] = ()) -> None:
    """Raise a `Finding` with `message` (and the ids of the entries that show it) unless true."""
    if not condition:
        raise Finding(message, evidence=evidence)
