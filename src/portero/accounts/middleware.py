"""Absolute session lifetime (SE2); the idle timeout is the session cookie age."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from portero.accounts.flows import SIGNED_IN_AT, sign_out
from portero.core import clock
from portero.core.client import ClientInfo


class SessionLifetimeMiddleware:
    """Sign out a session older than PORTERO_SESSION_MAX_HOURS, however active it was."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        signed_in_at = request.session.get(SIGNED_IN_AT)
        max_age = settings.PORTERO_SESSION_MAX_HOURS * 3600
        if signed_in_at is not None and clock.now().timestamp() - signed_in_at > max_age:
            sign_out(request, client=ClientInfo.from_request(request), reason="expired")
        return self.get_response(request)
