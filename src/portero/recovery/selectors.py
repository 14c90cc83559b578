"""Reads the recovery e-mails need: no writes, no flows."""

from __future__ import annotations

from portero.accounts.models import User
from portero.accounts.rules import normalize_email


def usernames_for_email(email: str) -> list[str]:
    """Return every active username registered with `email`, sorted."""
    usernames = User.objects.filter(email__lower=normalize_email(email), is_active=True)
    return sorted(usernames.values_list("username", flat=True), key=str.lower)
