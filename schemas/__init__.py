"""The JSON Schemas of the Interoperability messages, loaded once as one registry.

The `*.json` files beside this module are the single source of truth for every message; this module
only loads them, compiles a validator per schema and turns validation errors into problems that name
the JSON path and the rule broken.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache, lru_cache
from importlib import resources
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from referencing import Registry, Resource

__all__ = [
    "BASE_URI",
    "NAMES",
    "Problem",
    "SchemaViolation",
    "components",
    "digest",
    "examples",
    "format_checker",
    "openapi",
    "problems",
    "registry",
    "schema",
    "uri",
    "validate",
    "validator",
]

BASE_URI = "https://interop-harness.invalid/schemas/"

NAMES: tuple[str, ...] = (
    "common",
    "car",
    "cpi",
    "submission",
    "sre",
    "idr",
    "iaq",
    "iar",
    "nlets-iaq",
    "nlets-iar",
    "errt",
    "delivery",
    "detainer",
    "booking",
    "sut-profile",
    "timing-profile",
    "scenario",
    "api",
    "requirements",
    "report",
)


class Problem(NamedTuple):
    """One way a document breaks its schema: where (a JSON path), which rule, and why."""

    path: str
    rule: str
    message: str
    schema_path: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} (rule: {self.rule})"


class SchemaViolation(ValueError):
    """A document does not validate against its schema; `problems` lists every reason."""

    def __init__(self, name: str, found: list[Problem]) -> None:
        self.schema_name = name
        self.problems = found
        listed = "; ".join(str(p) for p in found)
        super().__init__(f"not a valid {name}: {listed}")


def uri(name: str) -> str:
    """The `$id` of the schema called `name`."""
    return f"{BASE_URI}{name}.json"


def _files() -> Iterator[tuple[str, bytes]]:
    root = resources.files(__name__)
    for name in NAMES:
        yield name, root.joinpath(f"{name}.json").read_bytes()


@cache
def _raw() -> dict[str, dict[str, Any]]:
    return {name: json.loads(data) for name, data in _files()}


def schema(name: str) -> dict[str, Any]:
    """The schema document called `name` (one of `NAMES`)."""
    try:
        return _raw()[name]
    except KeyError:
        raise KeyError(f"no schema named {name!r}; known: {', '.join(NAMES)}") from None


@cache
def registry() -> Registry[Any]:
    """One `referencing` registry holding every schema under its `$id`."""
    resources_ = [Resource.from_contents(doc) for doc in _raw().values()]
    return Registry().with_resources((str(r.id()), r) for r in resources_)


_EBTS_DATE = re.compile(r"^[0-9]{8}$")


def _is_ebts_date(value: object) -> bool:
    return _real_day(value) if isinstance(value, str) else True


@lru_cache(maxsize=4096)
def _real_day(value: str) -> bool:
    """Whether eight digits CCYYMMDD name a real day (what `strptime(value, "%Y%m%d")` takes);
    any other string is for the schema's pattern to refuse."""
    if not _EBTS_DATE.match(value):
        return True
    try:
        _dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        parsed = _dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return "T" in value.upper() and parsed.tzinfo is not None


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    if parts.scheme == "mailto":  # an address, no authority (RFC 6068)
        return "@" in parts.path
    return bool(parts.scheme and parts.netloc)


@cache
def format_checker() -> FormatChecker:
    """Format checks the schemas use: `ebts-date` (a real CCYYMMDD day), `date-time`, `uri`."""
    checker = FormatChecker(formats=())
    checker.checks("ebts-date")(_is_ebts_date)
    checker.checks("date-time")(_is_date_time)
    checker.checks("uri")(_is_uri)
    return checker


@cache
def _strict(pattern: str) -> re.Pattern[str]:
    # ECMA-262 `$` (the schemas' dialect) ends the string; Python's also matches before a final
    # newline, so a trailing `$` becomes `\Z`.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + "\\Z"
    return re.compile(pattern)


def _pattern(
    validator: Any, pattern: str, instance: object, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not _strict(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator: Any = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"pattern": _pattern}
)


@cache
def validator(name: str) -> Draft202012Validator:
    """The compiled validator of schema `name`, built once.

    `name` is one of `NAMES`, or a reference into one such as ``"booking.json#/properties/person"``
    or ``"common.json#/$defs/ori"`` to validate a part.
    """
    root = {"$ref": BASE_URI + name} if "#" in name else schema(name)
    checked: Draft202012Validator = _Validator(
        root, registry=registry(), format_checker=format_checker()
    )
    return checked


@cache
def _fast(name: str) -> Any:
    """A `jsonschema_rs` validator of the same schema, to answer "valid?" quickly."""
    resources_ = [(uri(n), schema(n)) for n in NAMES]
    root = {"$ref": BASE_URI + name} if "#" in name else schema(name)
    return jsonschema_rs.validator_for(
        root,
        registry=jsonschema_rs.Registry(resources_),
        formats={"ebts-date": _is_ebts_date, "date-time": _is_date_time, "uri": _is_uri},
        validate_formats=True,
    )


def _json_path(parts: Iterator[str | int] | list[str | int]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _specificity(error: ValidationError) -> tuple[int, bool]:
    """Deepest error first: in a oneOf, the branch that got furthest says what is wrong."""
    return len(error.absolute_path), error.validator not in {"required", "additionalProperties"}


def _problems(error: ValidationError) -> Iterator[Problem]:
    while error.context:
        error = max(error.context, key=_specificity)
    where: list[str | int] = list(error.absolute_path)
    rule = str(error.validator)
    schema_path = "/".join(str(p) for p in error.absolute_schema_path)
    instance = error.instance
    value: Any = error.validator_value
    named: list[tuple[str, str]] = []
    if isinstance(instance, Mapping):
        if rule == "required":
            named = [(k, f"{k!r} is required") for k in value if k not in instance]
        elif rule == "dependentRequired":
            named = [
                (k, f"{k!r} is required when {given!r} is present")
                for given, needs in value.items()
                if given in instance
                for k in needs
                if k not in instance
            ]
        elif rule in {"additionalProperties", "unevaluatedProperties"}:
            allowed = (
                error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
            )
            named = [
                (k, f"{k!r} is not allowed here") for k in sorted(instance) if k not in allowed
            ]
    if not named:
        yield Problem(_json_path(where), rule, error.message, schema_path)
    for key, message in named:
        yield Problem(_json_path([*where, key]), rule, message, schema_path)


def problems(name: str, instance: object) -> list[Problem]:
    """Every problem with `instance` as a `name`, ordered by path; empty when it is valid.

    A valid document is recognised by the fast engine (`jsonschema_rs`); the problems of an
    invalid one are found and named by `jsonschema`, the reference engine.
    """
    try:
        if _fast(name).is_valid(instance):
            return []
    except (ValueError, TypeError, OverflowError):
        pass
    found = {p for e in validator(name).iter_errors(instance) for p in _problems(e)}
    return sorted(found, key=lambda p: (p.path, p.rule, p.schema_path))


def validate(name: str, instance: object) -> None:
    """Raise `SchemaViolation` naming each path and rule when `instance` is not a valid `name`."""
    found = problems(name, instance)
    if found:
        raise SchemaViolation(name, found)


def examples(name: str) -> list[Any]:
    """The `examples` a schema carries (each must validate)."""
    return list(schema(name).get("examples", []))


_COMPONENTS = "#/components/schemas/"


def _component_ref(ref: str, owner: str) -> str:
    target, _, pointer = ref.partition("#")
    name = target.removesuffix(".json") if target else owner
    return f"{_COMPONENTS}{name}{pointer}"


def _inline(node: Any, owner: str) -> Any:
    if isinstance(node, dict):
        return {
            key: _component_ref(value, owner) if key == "$ref" else _inline(value, owner)
            for key, value in node.items()
            if key not in ("$id", "$schema")
        }
    if isinstance(node, list):
        return [_inline(item, owner) for item in node]
    return node


def components() -> dict[str, Any]:
    """Every schema as an OpenAPI 3.1 component under its name, references rewritten to point
    inside the document (for tools that do not fetch remote references)."""
    return {name: _inline(schema(name), name) for name in NAMES}


@cache
def openapi(name: str) -> dict[str, Any]:
    """An OpenAPI 3.1 document kept beside the schemas (`{name}.openapi.json`), made whole:
    its references to schema files point at components holding every schema."""
    text = resources.files(__name__).joinpath(f"{name}.openapi.json").read_text()
    document: dict[str, Any] = _inline(json.loads(text), name)
    document.setdefault("components", {})["schemas"] = components()
    return document


@cache
def digest() -> str:
    """SHA-256 over every schema file, in name order: which schemas a run was made with."""
    h = hashlib.sha256()
    for name, data in _files():
        h.update(name.encode())
        h.update(b"\0")
        h.update(data)
    return h.hexdigest()
