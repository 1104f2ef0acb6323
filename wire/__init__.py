"""The EBTS wire: Interoperability messages as ANSI/NIST-ITL transactions, and back.

The JSON documents are the canonical model and the schemas the single source of truth; this
package writes the same documents in the traditional encoding (`ansi_nist`), laid out as the
schemas' `x-ebts` annotations say (`layout`), and reads them back (`codec`). It imports only
`schemas`.
"""

from __future__ import annotations

from .ansi_nist import Problem, WireError
from .codec import decode, encode, kind_of

__all__ = ["MEDIA_TYPE", "Problem", "WireError", "decode", "encode", "is_encoded", "kind_of"]

MEDIA_TYPE = "application/x-ansi-nist"
"""The media type of an encoded transaction, over HTTP and as a MIME attachment."""


def is_encoded(data: bytes) -> bool:
    """Whether `data` looks like a traditional-encoding transaction (starts ``1.001:``)."""
    return data.lstrip()[:6] == b"1.001:"
