"""Variants of the reference SIB: correct designs that must pass every check under every profile
(the suite's false-alarm test), and faulty ones that each break one rule the way real switches do
(the suite's proof that it catches defects: each must fail the check of the rule it breaks)."""

from __future__ import annotations

from ..reference import ReferenceSib
from . import (
    correct,
    faulty_nff,
    faulty_nlets,
    faulty_ori,
    faulty_robustness,
    faulty_routing,
    faulty_submission,
)

__all__ = ["CORRECT", "VARIANTS", "sib_class"]


def _classes(module: object) -> list[type[ReferenceSib]]:
    names: list[str] = getattr(module, "__all__", [])
    return [getattr(module, name) for name in names]


CORRECT: dict[str, type[ReferenceSib]] = {c.name: c for c in _classes(correct)}
"""Every correct design other than the reference, by name."""

VARIANTS: dict[str, type[ReferenceSib]] = {
    c.name: c
    for module in (
        faulty_submission,
        faulty_nff,
        faulty_robustness,
        faulty_routing,
        faulty_ori,
        faulty_nlets,
    )
    for c in _classes(module)
}
"""Every faulty variant by name."""


def sib_class(name: str) -> type[ReferenceSib]:
    """The reference SIB (`reference`), a correct design or a faulty variant by name."""
    if name == ReferenceSib.name:
        return ReferenceSib
    found = CORRECT.get(name) or VARIANTS.get(name)
    if found is None:
        known = ", ".join([ReferenceSib.name, *CORRECT, *VARIANTS])
        raise ValueError(f"no SIB variant named {name!r}; known: {known}")
    return found
