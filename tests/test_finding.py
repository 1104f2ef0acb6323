"""A finding carries its sentence and the ledger entries that show it."""

from __future__ import annotations

import pytest

from conformance.finding import Finding, expect


def test_expect_passes_quietly_when_true() -> None:
    expect(True, "never shown")


def test_expect_raises_a_finding_with_message_and_evidence() -> None:
    with pytest.raises(Finding) as caught:
        expect([], "expected the IDR at LEA NC0140000 once; it never came", evidence=["7", "8"])
    assert caught.value.message == "expected the IDR at LEA NC0140000 once; it never came"
    assert caught.value.evidence == ("7", "8")
    assert isinstance(caught.value, AssertionError)
