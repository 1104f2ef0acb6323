"""JSON parsed strictly, so that nothing taken in can make a later read or write of it fail.

Refused, each naming its rule: a body that is not UTF-8 JSON (`json`); `NaN`, `Infinity` or a
number too large for a double (`finite-number`, RFC 8259 section 6 has no such values); a string
holding a lone UTF-16 surrogate such as `"\\ud800"` (`unicode-scalar`, it cannot be written out as
UTF-8); nesting deeper than `MAX_DEPTH` (`max-depth`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

import orjson

from .._utils import orjson_reads_as_json

__all__ = ["MAX_DEPTH", "JsonRuleError", "loads"]

MAX_DEPTH = 64
"""The deepest nesting of arrays and objects taken (EBTS documents nest a handful of levels)."""

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class JsonRuleError(ValueError):
    """A body broke one of the rules of strict JSON: `path`, `rule` and `message` name it."""

    def __init__(self, path: str, rule: str, message: str) -> None:
        super().__init__(f"{path}: {message} (rule: {rule})")
        self.path = path
        self.rule = rule
        self.message = message


def _refuse_constant(name: str) -> NoReturn:
    raise JsonRuleError("$", "finite-number", f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRuleError("$", "finite-number", f"{text[:40]} is too large for a double")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite)
"""One decoder for every body (what `json.loads` would build anew for each call)."""


def _walk(document: Any, *, depth: bool, scalars: bool) -> None:
    """Check nesting depth and/or Unicode scalar strings without recursion."""
    stack: list[tuple[Any, int, str]] = [(document, 1, "$")]
    while stack:
        node, level, path = stack.pop()
        if isinstance(node, dict | list):
            if depth and level > MAX_DEPTH:
                raise JsonRuleError(path, "max-depth", f"nested deeper than {MAX_DEPTH} levels")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in items:
                where = f"{path}.{_safe(key)}" if isinstance(key, str) else f"{path}[{key}]"
                if scalars and isinstance(key, str):
                    _scalar(key, where)
                stack.append((value, level + 1, where))
        elif scalars and isinstance(node, str):
            _scalar(node, path)


def _safe(text: str) -> str:
    """`text` as it can be written out: a lone surrogate as its `\\udXXX` escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _scalar(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonRuleError(
            path[:200], "unicode-scalar", "a string holds a lone UTF-16 surrogate"
        ) from None


def loads(data: bytes) -> Any:
    """The JSON document in `data`, or `JsonRuleError` naming the rule it breaks.

    orjson reads it first (UTF-8, no NaN or infinity, no lone surrogate, as these rules say); what
    it refuses or may read otherwise (a long integer) is read again by `json`, whose refusal
    names the rule."""
    if orjson_reads_as_json(data):
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            document = _read(data)
    else:
        document = _read(data)
    deep = data.count(b"[") + data.count(b"{") > MAX_DEPTH
    surrogates = _SURROGATE_ESCAPE.search(data) is not None
    if deep or surrogates:
        _walk(document, depth=deep, scalars=surrogates)
    return document


def _read(data: bytes) -> Any:
    """`data` read by `json`, each refusal naming its rule."""
    try:
        return _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))
    except RecursionError:
        raise JsonRuleError("$", "max-depth", f"nested deeper than {MAX_DEPTH} levels") from None
    except JsonRuleError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonRuleError("$", "json", str(exc)[:300]) from None
