"""STARTTLS and AUTH on the mocks' e-mail wire: what a state's MTA that requires them finds.

* `MailSecurity`: the intake's TLS context (a self-signed certificate made at start with
  `cryptography` unless one is given), whether STARTTLS is required before MAIL, and the
  credentials AUTH PLAIN / LOGIN accepts (none: AUTH is not offered). `smtp_options` gives the
  aiosmtpd ``SMTP`` keyword arguments for it.
* Credentials come from the environment (`AUTH_ENV`, ``USER:PASSWORD``) or a file (one
  ``USER:PASSWORD`` a line), never from the command line alone, where any local user reads them.
* `client_context`: what the mocks' outgoing mail uses when the SIB's server offers STARTTLS. A
  state's relay commonly has a certificate of its own making, so the channel is encrypted but the
  certificate not verified (opportunistic TLS, RFC 3207 section 4.1; RFC 7435).
"""

from __future__ import annotations

import datetime
import hmac
import os
import ssl
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = [
    "AUTH_ENV",
    "MailSecurity",
    "client_context",
    "credentials",
    "self_signed_context",
    "server_context",
    "smtp_options",
]

AUTH_ENV = "INTEROP_SMTP_AUTH"
"""The environment variable holding the one ``USER:PASSWORD`` AUTH accepts."""


class MailSecurity(NamedTuple):
    """The intake's TLS context (None: no STARTTLS), whether STARTTLS is required before MAIL,
    and the credentials AUTH accepts (empty: AUTH is neither offered nor required)."""

    tls: ssl.SSLContext | None = None
    require_tls: bool = False
    users: Mapping[str, str] = {}


def self_signed_context(hostname: str) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate (EC P-256) for `hostname`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    with tempfile.TemporaryDirectory(prefix="interop-smtp-tls-") as folder:
        cert_path, key_path = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return server_context(cert_path, key_path)


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server TLS context from a PEM certificate (chain) and its key; ValueError naming the
    file when either cannot be loaded."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            f"--smtp-cert {cert} / --smtp-key {key}: cannot be loaded ({exc})"
        ) from exc
    return context


def client_context() -> ssl.SSLContext:
    """The outgoing mail's TLS context: encrypted, the relay's certificate not verified."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def credentials(
    environ: Mapping[str, str] | None = None, path: Path | None = None
) -> dict[str, str]:
    """The ``USER:PASSWORD`` pairs AUTH accepts: from the file at `path` (one a line, ``#``
    comments) and the environment's `AUTH_ENV`. ValueError naming the line that has no colon."""
    lines: list[tuple[str, str]] = []
    if path is not None:
        text = path.read_text(encoding="utf-8")
        lines += [(f"{path}:{n}", line.strip()) for n, line in enumerate(text.splitlines(), 1)]
    found = (os.environ if environ is None else environ).get(AUTH_ENV)
    if found:
        lines.append((AUTH_ENV, found.strip()))
    users: dict[str, str] = {}
    for where, line in lines:
        if not line or line.startswith("#"):
            continue
        user, colon, password = line.partition(":")
        if not colon or not user or not password:
            raise ValueError(f"{where}: expected USER:PASSWORD, with neither part empty")
        users[user] = password
    return users


class _Authenticator:
    """aiosmtpd authenticator: PLAIN and LOGIN against the configured credentials."""

    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = dict(users)

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if mechanism not in ("PLAIN", "LOGIN") or not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = data.login.decode(errors="replace")
        expected = self.users.get(user, "").encode()
        ok = bool(expected) and hmac.compare_digest(expected, data.password)
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)


def smtp_options(security: MailSecurity | None) -> dict[str, Any]:
    """The aiosmtpd ``SMTP`` keyword arguments for `security` (none: plain SMTP, no AUTH).

    With credentials, AUTH is required before MAIL and offered only once TLS is up when there is
    a TLS context (the password never crosses in clear)."""
    if security is None:
        return {}
    options: dict[str, Any] = {
        "tls_context": security.tls,
        "require_starttls": security.require_tls and security.tls is not None,
    }
    if security.users:
        options |= {
            "authenticator": _Authenticator(security.users),
            "auth_required": True,
            "auth_require_tls": security.tls is not None,
        }
    return options
