"""DKIM: the signing key, the signature on each outgoing message, the DNS record that publishes
the key (docs/mail.md).

Imported by the settings module to check the key at start-up, so it reads Django's settings
only inside functions.
"""

from __future__ import annotations

import base64
import functools
import re
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# What a receiving server needs to trust: who sent it, to whom, what, when, which message, and
# how to read the body. Relaxed canonicalisation survives the re-folding and whitespace changes
# that relays make; rsa-sha256 is what every receiver checks (RFC 8301).
SIGNED_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"MIME-Version",
    b"Content-Type",
)
CANONICALIZATION = (b"relaxed", b"relaxed")
# RFC 8301 forbids keys under 1024 bits and asks for 2048; 2048 is what docs/mail.md generates.
MIN_KEY_BITS = 2048
# Longest character-string in a DNS TXT record (RFC 1035 3.3.14).
TXT_STRING_MAX = 255

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.IGNORECASE)


@dataclass(frozen=True)
class DkimKey:
    """A signing key ready for dkimpy, with the public half as DNS publishes it."""

    private_pem: bytes  # PKCS#1 ("BEGIN RSA PRIVATE KEY"), the only form dkimpy reads
    public_der: bytes  # SubjectPublicKeyInfo, the p= of the DNS record


def sender_domain(address: str) -> str:
    """Return the domain of `address` ("Name <user@domain>" or "user@domain"), lower-case."""
    return parseaddr(address)[1].rpartition("@")[2].lower()


def dkim_settings_check(*, key_file: str, selector: str, domain: str) -> None:
    """Raise ImproperlyConfigured, naming the variable, unless the DKIM settings make sense."""
    if bool(key_file) != bool(selector):
        missing = "PORTERO_DKIM_SELECTOR" if key_file else "PORTERO_DKIM_KEY_FILE"
        raise ImproperlyConfigured(
            f"{missing} is not set: DKIM signing needs both PORTERO_DKIM_KEY_FILE and "
            "PORTERO_DKIM_SELECTOR (or neither, to send unsigned mail)."
        )
    if selector and not _DNS_NAME.match(selector):
        raise ImproperlyConfigured(
            f"PORTERO_DKIM_SELECTOR must be a DNS label such as portero2026, got {selector!r}."
        )
    if domain and not _DNS_NAME.match(domain):
        raise ImproperlyConfigured(
            f"PORTERO_DKIM_DOMAIN must be a domain name such as example.gov.co, got {domain!r}."
        )
    if key_file:
        dkim_key_load(key_file)


def dkim_key_load(path: str) -> DkimKey:
    """Read the PEM RSA private key at `path`; raise ImproperlyConfigured if it is not one."""
    try:
        file = Path(path)
        return _key_read(str(file.resolve()), file.stat().st_mtime_ns)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"PORTERO_DKIM_KEY_FILE {path!r} cannot be read: {exc.strerror or exc}."
        ) from None


@functools.lru_cache(maxsize=4)
def _key_read(path: str, mtime_ns: int) -> DkimKey:
    # Keyed on the modification time too: a key file replaced in place is read again.
    data = Path(path).read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"PORTERO_DKIM_KEY_FILE {path!r} is not an unencrypted PEM private key "
            f"(openssl genrsa -out {Path(path).name} 2048 makes one): {exc}"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_KEY_BITS:
        raise ImproperlyConfigured(
            f"PORTERO_DKIM_KEY_FILE {path!r} must hold an RSA private key of at least "
            f"{MIN_KEY_BITS} bits."
        )
    return DkimKey(
        private_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        public_der=key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def dkim_enabled() -> bool:
    return bool(settings.PORTERO_DKIM_KEY_FILE and settings.PORTERO_DKIM_SELECTOR)


def dkim_domain() -> str:
    """Return the signing domain: PORTERO_DKIM_DOMAIN, else the sender address's domain."""
    return settings.PORTERO_DKIM_DOMAIN or sender_domain(settings.DEFAULT_FROM_EMAIL)


def message_sign(raw: bytes) -> bytes:
    """Return `raw` (a whole message, CRLF line ends) with a DKIM-Signature header first; unchanged
    when DKIM is not configured."""
    if not dkim_enabled():
        return raw
    key = dkim_key_load(settings.PORTERO_DKIM_KEY_FILE)
    signature = dkim.sign(
        raw,
        settings.PORTERO_DKIM_SELECTOR.encode(),
        dkim_domain().encode(),
        key.private_pem,
        canonicalize=CANONICALIZATION,
        signature_algorithm=b"rsa-sha256",
        include_headers=list(SIGNED_HEADERS),
    )
    return signature + raw


def dkim_txt_value(key: DkimKey) -> str:
    """Return the TXT record's text: "v=DKIM1; k=rsa; p=<base64 public key>"."""
    return f"v=DKIM1; k=rsa; p={base64.b64encode(key.public_der).decode()}"


def txt_strings(value: str) -> list[str]:
    """Split `value` into the 255-character strings a TXT record is made of."""
    return [value[i : i + TXT_STRING_MAX] for i in range(0, len(value), TXT_STRING_MAX)] or [""]
