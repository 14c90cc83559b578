"""The company selector as a sign-in step (accounts.steps, PORTERO_AFTER_SIGN_IN_STEPS)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from portero.accounts.models import User
from portero.organizations import flows, selectors


def choose_organization(request: HttpRequest) -> str | None:
    """Return the selector's page when this session has not chosen among several accepted
    memberships; choose silently when there is exactly one; nothing when there is none."""
    user = request.user
    if request.session.get(flows.SETTLED) or not isinstance(user, User):
        return None
    choices = selectors.choices_of(user)
    if len(choices) > 1:
        return reverse("organizations:choose")
    if choices:
        flows.choose(request, user=user, membership=choices[0], via="only")
    else:
        request.session[flows.SETTLED] = True
    return None
