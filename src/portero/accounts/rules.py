"""One place for an account's field rules: the limits of its fields and how a typed username or
e-mail address is compared. The model, the forms, the import, the command line and the flows all
ask here, so none accepts what another refuses and none compares differently."""

from __future__ import annotations

USERNAME_MAX = 150
FULL_NAME_MAX = 200
EMAIL_MAX = 254  # RFC 5321's path limit, as Django's EmailField


def _comparison_form(raw: str) -> str:
    return raw.strip().lower()


def normalize_username(raw: str) -> str:
    """Return the comparison form of a username: trimmed and lower-case (the column's unique
    constraint is on Lower(username), so this is what two usernames clash on)."""
    return _comparison_form(raw)


def normalize_email(raw: str) -> str:
    """Return the comparison form of an e-mail address: trimmed and lower-case, the whole
    address (the local part is case-insensitive at every mailbox provider portals' users have)."""
    return _comparison_form(raw)
