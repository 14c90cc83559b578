"""Recovery link secrets (TK1): 128 random bits, stored only as an input the key derives from."""

from __future__ import annotations

import base64
import hmac
import re
import secrets

from django.conf import settings
from django.utils.crypto import salted_hmac

SELECTOR_BYTES = 16  # 128 bits from the OS CSPRNG
_LINK_SALT = "portero.recovery.link"
_IDENTIFIER_SALT = "portero.recovery.identifier"
_TOKEN_SHAPE = re.compile(r"^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$")


def new_selector() -> str:
    """Return a fresh random selector (22 URL-safe characters)."""
    return secrets.token_urlsafe(SELECTOR_BYTES)


def _verifier(selector: str, key: str) -> str:
    digest = salted_hmac(_LINK_SALT, selector, secret=key, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def link_token(selector: str) -> str:
    """Return the secret that goes in the e-mail's link for `selector`."""
    return f"{selector}.{_verifier(selector, settings.SECRET_KEY)}"


def selector_from_token(token: str) -> str | None:
    """Return the selector a genuine token carries, or None (constant-time check, old keys too)."""
    match = _TOKEN_SHAPE.match(token)
    if match is None:
        return None
    selector, verifier = match.groups()
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    valid = [hmac.compare_digest(_verifier(selector, key), verifier) for key in keys]
    return selector if any(valid) else None


def identifier_digest(normalized: str) -> str:
    """Return a keyed digest of a normalised username or e-mail (no raw PII in indexes)."""
    return salted_hmac(_IDENTIFIER_SALT, normalized, algorithm="sha256").hexdigest()
