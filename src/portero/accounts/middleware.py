"""Absolute session lifetime (SE2), the idle timeout being the session cookie age; the
account's saved language."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from portero.accounts.flows import SIGNED_IN_AT, sign_out
from portero.accounts.models import User
from portero.core import clock
from portero.core.client import ClientInfo
from portero.core.language import language_cookie_set


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


def _chosen_language(request: HttpRequest) -> str:
    """Return the language saved on the signed-in account, or "" (anonymous, or not chosen)."""
    user = getattr(request, "user", None)
    return user.language if isinstance(user, User) and user.is_authenticated else ""


class AccountLanguageMiddleware:
    """Signed in, pages are in the language saved on the account, from the sign-in on; the
    browser remembers it (the language cookie) for after signing out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = _chosen_language(request)
        if chosen and chosen != translation.get_language():
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        response = self.get_response(request)
        chosen = _chosen_language(request)  # this request may have signed in, or chosen
        cookie = settings.LANGUAGE_COOKIE_NAME
        if chosen and request.COOKIES.get(cookie) != chosen and cookie not in response.cookies:
            language_cookie_set(response, chosen)
        return response
