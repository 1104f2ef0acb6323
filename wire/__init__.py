"""The EBTS wire: Interoperability messages as ANSI/NIST-ITL transactions, and back.

The JSON documents are the canonical model and the schemas the single source of truth; this
package writes the same documents in the traditional encoding (`ansi_nist`), laid out as the
schemas' `x-ebts` annotations say (`layout`), and reads them back (`codec`). It imports only
`schemas`. Use `wire.codec.encode` / `decode`; bad input raises `wire.ansi_nist.WireError`.
"""

from __future__ import annotations

import re

__all__ = ["MEDIA_TYPE", "MEDIA_TYPES", "is_encoded"]

MEDIA_TYPE = "application/x-ansi-nist"
"""The media type of an encoded transaction, over HTTP and as a MIME attachment."""
MEDIA_TYPES = (MEDIA_TYPE, "application/octet-stream")
"""Media types an encoded transaction is taken under (compared without case or parameters)."""

_START = re.compile(rb"\s*1\.0{0,8}1:")


def is_encoded(data: bytes) -> bool:
    """Whether `data` looks like a traditional-encoding transaction: it starts with the Type-1
    LEN tag, ``1.001:`` (or, from sloppier writers, ``1.1:`` or ``1.01:``)."""
    return _START.match(data) is not None
