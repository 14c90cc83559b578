"""Who must have a second factor (PORTERO_MFA_REQUIRED: "roles", "all" or "off"; MF6)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from portero.accounts.models import User
from portero.factors.selectors import has_factor


def _holds_console_role(user: User) -> bool:
    from portero.helpdesk.roles import Role, role_of

    return role_of(user) >= Role.AGENT


def enrolment_required(user: User) -> bool:
    """True when this account must set up a second factor before going on."""
    mode = settings.PORTERO_MFA_REQUIRED
    if mode == "off" or has_factor(user):
        return False
    return mode == "all" or _holds_console_role(user)


def enrolment_step(request: HttpRequest) -> str | None:
    """A sign-in step (accounts.steps): with "all", everyone without a factor sets one up
    first. With "roles", the console itself sends its staff to set one up (MF6)."""
    user = request.user
    if settings.PORTERO_MFA_REQUIRED != "all" or not isinstance(user, User):
        return None
    return reverse("factors:security") if enrolment_required(user) else None
