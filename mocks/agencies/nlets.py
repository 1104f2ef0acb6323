"""NLETS with the ICE LESC behind it: its ledger channels, where LESC's IARs reach the switch
(`nlets_port`), an IAR's identifier and an NLETS message's ledger columns (SOP 2.2.7, 3.1.4;
docs/nlets.md). Taking an IAQ (`POST /nlets/messages`) is `mocks.api.nlets`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .._utils import part, text

__all__ = [
    "FAULT_CHANNEL",
    "IAQ_CHANNEL",
    "IAR_CHANNEL",
    "iar_mid",
    "ledger_header",
    "nlets_port",
]

IAQ_CHANNEL = "nlets"
"""The ledger channel of the IAQs NLETS took (direction in)."""
IAR_CHANNEL = "nlets-iar"
"""The ledger channel of LESC's IARs to the switch's NLETS port (direction out)."""
FAULT_CHANNEL = "nlets-fault"
"""The ledger channel of the IAQs NLETS refused (an injected `nlets-unavailable`)."""


def ledger_header(message: Any) -> dict[str, Any]:
    """An NLETS message's ledger columns as a Type-1 header would give them: `tot` NLETS-IAQ or
    NLETS-IAR, `tcn` its `mid`, `tcr` the IAQ it answers (or the TCN an IAQ follows), `ori` its
    sender."""
    header = part(message, "header")
    mke = text(header.get("mke"))
    return {
        "tot": f"NLETS-{mke}" if mke else None,
        "tcn": text(header.get("mid")),
        "tcr": text(header.get("mir")) or text(part(message, "txt").get("tcr")),
        "ori": text(header.get("ori")),
    }


def nlets_port(document: dict[str, Any], callback: str | None) -> str | None:
    """Where LESC's IARs reach the SIB: the scenario's `sut_nlets`, else the SIB's
    `POST /nlets/responses` beside its HTTP `/cjis/responses` callback, in JSON even where CJIS
    answers in EBTS (`ebts+http…`: NLETS is not EBTS); none on the e-mail wire without
    `sut_nlets` (the IAR is then ledgered, not delivered)."""
    given = document.get("sut_nlets")
    if isinstance(given, str):
        return given
    callback = callback.removeprefix("ebts+") if callback else callback
    if callback and callback.startswith("http") and callback.endswith("/cjis/responses"):
        return callback.removesuffix("/cjis/responses") + "/nlets/responses"
    return None


def iar_mid(iaq_ori: str, iaq_mid: str) -> str:
    """The IAR's own identifier: LESC's ORI and a digest of the IAQ it answers."""
    digest = hashlib.blake2b(f"{iaq_ori}\x1f{iaq_mid}".encode(), digest_size=8).hexdigest()
    return f"VTLESC000-NR-{digest.upper()}"
