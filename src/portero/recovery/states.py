"""The life of a recovery link: requested -> opened -> completed, or expired / superseded.

See docs/recovery-states.md for the diagram.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from portero.recovery.models import PasswordReset


class LinkState(StrEnum):
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # the password changed after this link was sent
    DISABLED = "disabled"  # the account was disabled
    UNKNOWN = "unknown"  # malformed, forged, or never issued


def reset_state(reset: PasswordReset | None, now: datetime) -> LinkState:
    """Return what `reset` allows at `now`."""
    if reset is None:
        return LinkState.UNKNOWN
    if reset.used_at is not None:
        return LinkState.USED
    changed = reset.user.password_changed_at
    if changed is not None and changed >= reset.created_at:
        return LinkState.SUPERSEDED
    if not reset.user.is_active:
        return LinkState.DISABLED
    if now >= reset.expires_at:
        return LinkState.EXPIRED
    return LinkState.VALID
