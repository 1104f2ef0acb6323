"""Build invalid documents from valid ones by changing one place."""

from __future__ import annotations

import copy
from typing import Any

DELETE = object()


def mutate(document: Any, path: str, value: object) -> Any:
    """A deep copy of `document` with the element at `path` ("type2.asl.0.ncic") set or deleted."""
    doc = copy.deepcopy(document)
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: int | str = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return doc
