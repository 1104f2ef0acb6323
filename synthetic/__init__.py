"""Synthetic data: seeded people, encounters, messages and configuration documents, and hypothesis
strategies for them. Data, not rules: the rules they follow are in `protocol`."""

from ._utils import Doc
from .encounters import ALIENAGES, PHOTO_RATE
from .identifiers import STATE_CODES
from .messages import DETAINER_ACTIONS, ERROR_SAMPLES
from .names import normalize_name
from .people import (
    CHARGES,
    DRUG_CHARGE,
    FOREIGN_POB,
    PRINT_KINDS,
    REFERENCE_YEAR,
    TWO_PRINT_SHARE,
)
from .synthesizer import Synthesizer

__all__ = [
    "ALIENAGES",
    "CHARGES",
    "DETAINER_ACTIONS",
    "DRUG_CHARGE",
    "ERROR_SAMPLES",
    "FOREIGN_POB",
    "PHOTO_RATE",
    "PRINT_KINDS",
    "REFERENCE_YEAR",
    "STATE_CODES",
    "TWO_PRINT_SHARE",
    "Doc",
    "Synthesizer",
    "normalize_name",
]
