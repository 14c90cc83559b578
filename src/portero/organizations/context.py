"""Template context: the organization the signed-in session acts for, for the header."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from portero.accounts.flows import session_sid
from portero.organizations.selectors import acting_for as acting_for_sid


def acting_for(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `acting_for`, the session's accepted membership, or None."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "session"):
        return {"acting_for": None}
    return {"acting_for": acting_for_sid(session_sid(request))}
