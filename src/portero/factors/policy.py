"""Who must have a second factor (PORTERO_MFA_REQUIRED: "roles", "all" or "off"; MF6), and
who is asked for a new one after an assisted recovery removed theirs (MF4)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from portero.accounts.models import User
from portero.factors.assisted import enrolment_asked, enrolment_done
from portero.factors.selectors import has_factor


def _holds_console_role(user: User) -> bool:
    from portero.helpdesk.roles import Role, role_of

    return role_of(user) >= Role.AGENT


def enrolment_required(user: User) -> bool:
    """True when this account must set up a second factor before going on."""
    if has_factor(user):
        return False
    if enrolment_asked(user):  # after an assisted recovery, whatever the mode (MF4)
        return True
    mode = settings.PORTERO_MFA_REQUIRED
    return mode == "all" or (mode == "roles" and _holds_console_role(user))


def enrolment_step(request: HttpRequest) -> str | None:
    """A sign-in step (accounts.steps): with "all", everyone without a factor sets one up
    first; so does a person whose factors an assisted recovery removed (MF4), and once they
    have one again they are no longer asked. With "roles", the console itself sends its staff
    to set one up (MF6)."""
    user = request.user
    if not isinstance(user, User):
        return None
    if enrolment_asked(user):
        if not has_factor(user):
            return reverse("factors:security")
        enrolment_done(user=user)
        return None
    if settings.PORTERO_MFA_REQUIRED != "all":
        return None
    return reverse("factors:security") if not has_factor(user) else None
