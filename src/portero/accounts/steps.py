"""Pages a person passes between a complete sign-in and where they were going.

Another app adds a step (the company selector, say) by naming a function in the setting
PORTERO_AFTER_SIGN_IN_STEPS. Each step is `(request) -> str | None`: the path of a page the
signed-in person must visit now, or None when there is nothing to do. A step's page, once done,
calls `proceed(request)`, which asks the steps again and at the end goes to the destination
kept here. The destination is a path on this site, checked by whoever called `begin`.

Written here rather than taken from a library: django-allauth has the same idea (login
stages), but bringing allauth in for one list of callables would replace Portero's own sign-in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect, resolve_url
from django.utils.module_loading import import_string

DESTINATION = "portero_after_sign_in"

Step = Callable[[HttpRequest], "str | None"]


@cache
def _steps() -> tuple[Step, ...]:
    return tuple(import_string(name) for name in settings.PORTERO_AFTER_SIGN_IN_STEPS)


def pending(request: HttpRequest) -> str | None:
    """Return the page of the first step still to do for this session, or None."""
    for step in _steps():
        page = step(request)
        if page:
            return page
    return None


def begin(request: HttpRequest, destination: str | None) -> HttpResponseRedirect:
    """Signed in just now: go to `destination` (None: the account's home), through the
    steps' pages if any is pending (only then is the destination kept, in the session)."""
    page = pending(request)
    if not page:
        return redirect(destination or "accounts:home")
    request.session[DESTINATION] = destination or resolve_url("accounts:home")
    return redirect(page)


def proceed(request: HttpRequest) -> HttpResponseRedirect:
    """Go to the next step's page, or to the destination once no step is left."""
    page = pending(request)
    if page:
        return redirect(page)
    return redirect(request.session.pop(DESTINATION, None) or "accounts:home")


def destination_of(request: HttpRequest) -> str:
    """Where the person goes when the steps are done (for a step's page to mention)."""
    return str(request.session.get(DESTINATION) or resolve_url("accounts:home"))
