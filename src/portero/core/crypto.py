"""Keyed digests for values that must be matched but not stored (identifiers, rate-limit keys)."""

from __future__ import annotations

from django.utils.crypto import salted_hmac


def keyed_digest(purpose: str, value: str) -> str:
    """Return a hex HMAC-SHA256 of `value` under the server key, separated by `purpose`."""
    return salted_hmac(f"portero.{purpose}", value, algorithm="sha256").hexdigest()
