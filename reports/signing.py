"""Signing a report with Ed25519 and verifying it: any edit to a signed report fails `verify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

import schemas

__all__ = [
    "SignatureError",
    "canonical",
    "load_or_create_key",
    "sign",
    "signature_problem",
    "verify",
]


class SignatureError(ValueError):
    """A report whose signature, digest or schema does not hold, or a key that cannot be used."""


def canonical(report: dict[str, Any]) -> bytes:
    """The bytes a signature covers: the whole report but `signature.value`, keys sorted, no
    spaces; so the algorithm, the public key and the throwaway flag are covered too."""
    covered = dict(report)
    if isinstance(covered.get("signature"), dict):
        covered["signature"] = {k: v for k, v in covered["signature"].items() if k != "value"}
    return json.dumps(covered, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def load_or_create_key(path: str | Path | None) -> tuple[Ed25519PrivateKey, bool]:
    """The signing key at `path` (PEM, PKCS#8), or a throwaway one; the flag says throwaway.

    Raises `SignatureError` with one line saying what is wrong when the key cannot be used.
    """
    if path is None:
        return Ed25519PrivateKey.generate(), True
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SignatureError(f"cannot read the signing key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SignatureError(
            f"the signing key {path} is not an unencrypted PEM private key ({reason})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(f"the signing key {path} is not an Ed25519 private key")
    return key, False


def sign(report: dict[str, Any], key: Ed25519PrivateKey, *, throwaway: bool) -> dict[str, Any]:
    """The report with its `signature` member."""
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    signed = {k: v for k, v in report.items() if k != "signature"}
    signed["signature"] = {
        "algorithm": "Ed25519",
        "public_key": public.hex(),
        "throwaway": throwaway,
    }
    signed["signature"]["value"] = key.sign(canonical(signed)).hex()
    return signed


def verify(report: Any, *, public_key: str | None = None) -> None:
    """Raise `SignatureError` unless the report validates, was made with these schemas, and its
    signature holds (with `public_key`, hex in either case, when given: the expected signer)."""
    found = schemas.problems("report", report)
    if found:
        raise SignatureError("not a valid report: " + "; ".join(str(p) for p in found[:5]))
    signature = report.get("signature")
    if signature is None:
        raise SignatureError("the report is not signed")
    if public_key is not None and signature["public_key"] != public_key.strip().lower():
        raise SignatureError("signed by another key than the one expected")
    if report["schemas_digest"] != schemas.digest():
        raise SignatureError(
            f"made with other schemas (digest {report['schemas_digest'][:12]}…, "
            f"these are {schemas.digest()[:12]}…)"
        )
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(signature["public_key"]))
    try:
        key.verify(bytes.fromhex(signature["value"]), canonical(report))
    except InvalidSignature:
        raise SignatureError("the signature does not match: the report was changed") from None


def signature_problem(report: Any) -> str | None:
    """Why the report's signature does not verify (`verify`), or None when it does: what a
    rendering must say before anything else it shows."""
    try:
        verify(report)
    except SignatureError as exc:
        return str(exc)
    return None
