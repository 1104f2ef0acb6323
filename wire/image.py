"""Synthetic fingerprint images for Type-14 records, and the biometric key derived from them.

The harness holds no real image. An image it writes is a small 8-bit grey block that starts
with a marker and the biometric key it stands for, the rest pseudo-random from that key; the key
of any set of images is read back from that marker, or else (a file some other system wrote) is
derived from the bytes: the same images always map to the same synthetic subject.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["SIDE", "finger_positions", "image", "key_of"]

SIDE = 16
"""Horizontal and vertical line length (14.006 HLL, 14.007 VLL) of a synthetic image, pixels."""

_MARKER = b"SYNTHETIC-PRINT "
_KEY = re.compile(rb"SYN-[0-9A-F]{16}")
_TEN_PRINT = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 11, 12)
_TWO_PRINT = (2, 7)


def finger_positions(count: int) -> tuple[int, ...]:
    """14.013 FGP of each impression: two index fingers, or ten rolled fingers then slaps."""
    return _TWO_PRINT[:count] if count <= 2 else _TEN_PRINT[:count]


def image(key: str, position: int) -> bytes:
    """The synthetic image of finger `position` of the subject with biometric `key`."""
    head = _MARKER + key.encode()
    seed = hashlib.sha256(f"{key}/{position}".encode()).digest()
    body = b""
    while len(head) + len(body) < SIDE * SIDE:
        seed = hashlib.sha256(seed).digest()
        body += seed
    return (head + body)[: SIDE * SIDE]


def key_of(images: list[bytes]) -> str:
    """The biometric key of a set of images: the one they carry, or one derived from them."""
    if images and images[0].startswith(_MARKER):
        found = _KEY.match(images[0], len(_MARKER))
        if found:
            return found[0].decode()
    digest = hashlib.sha256(b"".join(images)).hexdigest()
    return f"SYN-{digest[:16].upper()}"
