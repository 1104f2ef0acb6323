"""Synthetic fingerprint images for Type-4 and Type-14 records, and the biometric key derived
from them.

The harness holds no real image. An impression it writes is a synthetic ridge pattern (concentric
ridges with seeded noise, one pattern per finger position), WSQ-compressed when the `wsq` package
is installed (the test extras), else 8-bit grey pixels; the biometric key it stands for rides in a
WSQ comment segment (or at the start of the pixels) after a marker. The key of any set of images
is read back from that marker, or else (a file some other system wrote) derived from the bytes:
the same images always map to the same synthetic subject.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import re
from functools import cache
from typing import NamedTuple

__all__ = ["RAW_SIDE", "SIDE", "Impression", "finger_positions", "image", "impression", "key_of"]

SIDE = 128
"""Horizontal and vertical line length (HLL, VLL) of a synthetic WSQ impression, pixels."""
RAW_SIDE = 16
"""The same of an uncompressed impression (without the `wsq` package): small, as it is sent raw."""

_MARKER = b"SYNTHETIC-PRINT "
_KEY = re.compile(rb"SYN-[0-9A-F]{16}")
_MARKER_WITHIN = 64
"""The marker is looked for in the first bytes of an image (after WSQ's SOI, in a COM segment)."""
_WSQ_SOI = b"\xff\xa0"
_WSQ_COM = b"\xff\xa8"
_TEN_PRINT = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 11, 12)
_TWO_PRINT = (2, 7)


class Impression(NamedTuple):
    """One image: its bytes, its size in pixels and whether it is WSQ (else 8-bit grey)."""

    data: bytes
    width: int
    height: int
    wsq: bool


def finger_positions(count: int) -> tuple[int, ...]:
    """FGP of each impression: two index fingers, or ten rolled fingers then slaps."""
    return _TWO_PRINT[:count] if count <= 2 else _TEN_PRINT[:count]


def _ridges(position: int, side: int) -> bytes:
    """A seeded synthetic ridge pattern for finger `position`, side x side 8-bit grey pixels."""
    rng = random.Random(f"synthetic ridges {position}")
    cx, cy = rng.uniform(0.3, 0.7) * side, rng.uniform(0.3, 0.7) * side
    period, whorl = rng.uniform(7.0, 10.0), rng.uniform(1.0, 4.0)
    pixels = bytearray(side * side)
    for y in range(side):
        for x in range(side):
            dx, dy = x - cx, y - cy
            r = math.hypot(dx, dy * 1.3) + whorl * math.sin(2 * math.atan2(dy, dx))
            value = 128 + 100 * math.sin(2 * math.pi * r / period) + rng.uniform(-20, 20)
            pixels[y * side + x] = max(0, min(255, int(value)))
    return bytes(pixels)


@cache
def _wsq(position: int) -> bytes | None:
    """The ridge pattern of `position` as WSQ, or None when the `wsq` package is not installed."""
    try:
        import wsq  # type: ignore[import-untyped]  # noqa: F401  (registers the WSQ format)
        from PIL import Image
    except ImportError:
        return None
    out = io.BytesIO()
    Image.frombytes("L", (SIDE, SIDE), _ridges(position, SIDE)).save(out, "WSQ")
    return out.getvalue()


@cache
def _raw(position: int) -> bytes:
    return _ridges(position, RAW_SIDE)


def impression(key: str, position: int) -> Impression:
    """The synthetic impression of finger `position` of the subject with biometric `key`."""
    tag = _MARKER + key.encode()
    compressed = _wsq(position)
    if compressed is not None and compressed.startswith(_WSQ_SOI):
        comment = _WSQ_COM + (len(tag) + 2).to_bytes(2, "big") + tag
        return Impression(_WSQ_SOI + comment + compressed[2:], SIDE, SIDE, True)
    seed = hashlib.sha256(f"{key}/{position}".encode()).digest()
    pixels = (tag + seed + _raw(position))[: RAW_SIDE * RAW_SIDE]
    return Impression(pixels, RAW_SIDE, RAW_SIDE, False)


def image(key: str, position: int) -> bytes:
    """The bytes of `impression`."""
    return impression(key, position).data


def key_of(images: list[bytes]) -> str:
    """The biometric key of a set of images: the one they carry, or one derived from them."""
    if images:
        at = images[0].find(_MARKER, 0, _MARKER_WITHIN)
        found = _KEY.match(images[0], at + len(_MARKER)) if at >= 0 else None
        if found:
            return found[0].decode()
    digest = hashlib.sha256(b"".join(images)).hexdigest()
    return f"SYN-{digest[:16].upper()}"
