"""Recovery link secrets (TK1): 128 random bits, stored only as an input the key derives from."""

from __future__ import annotations

import base64
import hmac
import re
import secrets

from django.conf import settings
from django.utils.crypto import salted_hmac

from portero.core.crypto import keyed_digest

SELECTOR_BYTES = 16  # 128 bits from the OS CSPRNG
_LINK_SALT = "portero.recovery.link"
_CODE_SALT = "portero.recovery.code"
_TOKEN_SHAPE = re.compile(r"^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$")


def new_selector() -> str:
    """Return a fresh random selector (22 URL-safe characters)."""
    return secrets.token_urlsafe(SELECTOR_BYTES)


def _verifier(selector: str, key: str, salt: str) -> str:
    digest = salted_hmac(salt, selector, secret=key, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def link_token(selector: str, *, salt: str = _LINK_SALT) -> str:
    """Return the secret that goes in the e-mail's link for `selector`. Another kind of link
    (the assisted recovery's cancel link) passes a `salt` of its own."""
    return f"{selector}.{_verifier(selector, settings.SECRET_KEY, salt)}"


def selector_from_token(token: str, *, salt: str = _LINK_SALT) -> str | None:
    """Return the selector a genuine token carries, or None (constant-time check, old keys too)."""
    match = _TOKEN_SHAPE.match(token)
    if match is None:
        return None
    selector, verifier = match.groups()
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    valid = [hmac.compare_digest(_verifier(selector, key, salt), verifier) for key in keys]
    return selector if any(valid) else None


def reset_code(selector: str, key: str | None = None) -> str:
    """Return the 8-digit one-time code of a reset, derived like its link (TK7)."""
    digest = salted_hmac(
        _CODE_SALT, selector, secret=key or settings.SECRET_KEY, algorithm="sha256"
    ).digest()
    digits = settings.PORTERO_CODE_DIGITS
    return str(int.from_bytes(digest[:8], "big") % 10**digits).zfill(digits)


def code_matches(selector: str, code: str) -> bool:
    """Compare a typed code with the reset's, in constant time, accepting old keys too."""
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any([hmac.compare_digest(reset_code(selector, key), code) for key in keys])


def normalize_code(raw: str) -> str:
    """Return the digits of a typed code ("1234 5678", "1234-5678" -> "12345678")."""
    return "".join(ch for ch in raw if ch.isdigit() and ch.isascii())


def identifier_digest(normalized: str) -> str:
    """Return a keyed digest of a normalised username or e-mail (no raw PII in indexes)."""
    return keyed_digest("recovery.identifier", normalized)
