"""The EBTS wire: Interoperability messages as ANSI/NIST-ITL transactions, and back.

The JSON documents are the canonical model and the schemas the single source of truth; this
package writes the same documents in the traditional encoding (`ansi_nist`), laid out as the
schemas' `x-ebts` annotations say (`layout`), and reads them back (`codec`). It imports only
`schemas`. Use `wire.codec.encode` / `decode`; bad input raises `wire.ansi_nist.WireError`.
"""

from __future__ import annotations

__all__ = ["MEDIA_TYPE", "is_encoded"]

MEDIA_TYPE = "application/x-ansi-nist"
"""The media type of an encoded transaction, over HTTP and as a MIME attachment."""


def is_encoded(data: bytes) -> bool:
    """Whether `data` looks like a traditional-encoding transaction (starts ``1.001:``)."""
    return data.lstrip()[:6] == b"1.001:"
