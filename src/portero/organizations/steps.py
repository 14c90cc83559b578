"""The company selector as a sign-in step (accounts.steps, PORTERO_AFTER_SIGN_IN_STEPS)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from portero.accounts.flows import session_sid
from portero.accounts.models import User
from portero.core.client import ClientInfo
from portero.organizations import flows, selectors


def choose_organization(request: HttpRequest) -> str | None:
    """Return the selector's page while this session acts for none of several accepted
    memberships; choose silently when there is exactly one; nothing when there is none.

    One query when there is nothing to do (it also runs before every portal's code).
    """
    user = request.user
    if not isinstance(user, User):
        return None
    choices, acting = selectors.choices_for_session(user, session_sid(request))
    if acting is not None or not choices:
        return None
    if len(choices) > 1:
        return reverse("organizations:choose")
    flows.choose(
        user=user,
        client=ClientInfo.from_request(request),
        sid=session_sid(request),
        membership=choices[0],
        via="only",
    )
    return None
