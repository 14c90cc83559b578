"""Our own error pages (HB3): generic, translated, no stack trace or version."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template import loader
from django.utils.translation import gettext as _

from portero.core.context import branding

# Seconds a client is asked to wait when the database does not answer: a restart or fail-over
# takes about this long, and a reload sooner would only add to the queue.
RETRY_AFTER_SECONDS = 30

TITLES: dict[int, Callable[[], str]] = {
    400: lambda: _("The request could not be understood"),
    403: lambda: _("This action is not allowed"),
    404: lambda: _("Page not found"),
    405: lambda: _("This action is not allowed on this page"),
    414: lambda: _("The address is too long"),
    500: lambda: _("Something went wrong on our side"),
    503: lambda: _("This service is not available yet"),
}


def error_page(request: HttpRequest, status: int, detail: str = "") -> HttpResponse:
    """Render the generic error page for `status`."""
    try:
        template = loader.get_template("core/error.html")
        body = template.render(
            {"status": status, "title": TITLES[status](), "detail": detail}, request
        )
    except Exception:  # the error page itself must never fail
        body = f"<!doctype html><title>{status}</title><h1>{status}</h1>"
    return HttpResponse(body, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Answer an unexpected error with 500, or 503 when the database cannot be reached."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return database_unavailable()
    return error_page(request, 500)


def database_unavailable() -> HttpResponse:
    """Render the "service unavailable" page (503, Retry-After) without the database.

    Rendered without the request: its context processors would read the session and the
    signed-in person, which live in the database that just failed.
    """
    title = _("The service is temporarily unavailable")
    detail = _("We are working to restore it. Please try again in a few minutes.")
    try:
        body = loader.get_template("core/error.html").render(
            {**branding(), "status": 503, "title": title, "detail": detail}
        )
    except Exception:  # the error page itself must never fail
        body = f"<!doctype html><title>503</title><h1>{title}</h1><p>{detail}</p>"
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class MethodNotAllowedMiddleware:
    """Give 405 responses (PUT, DELETE, TRACE on pages) our own page, keeping `Allow`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed):
            page = error_page(request, 405)
            page["Allow"] = response["Allow"]
            return page
        return response


def view_methods(view: Callable[..., Any]) -> list[str] | None:
    """Return the methods `view` answers, or None when it does not say.

    A class-based view lists them (`http_method_names` with a handler); a function view says
    it through Django's `require_http_methods` (and `require_GET`, `require_POST`,
    `require_safe`), found under any decorators wrapped around it.
    """
    view_class = getattr(view, "view_class", None)
    if view_class is not None:  # as_view(http_method_names=...) overrides the class's
        names = getattr(view, "view_initkwargs", {}).get(
            "http_method_names", view_class.http_method_names
        )
        return [m.upper() for m in names if hasattr(view_class, m)]
    func: Any = view
    while func is not None:
        try:
            methods = inspect.getclosurevars(func).nonlocals.get("request_method_list")
        except (TypeError, ValueError):
            methods = None
        if methods is not None:
            return list(methods)
        func = getattr(func, "__wrapped__", None)
    return None


class UnsupportedMethodMiddleware:
    """Answer a method the page does not take with 405 before the CSRF check (HB3).

    Without it a PUT, PATCH or DELETE, which carry no form token, got the CSRF middleware's
    403, which says the form expired: wrong, and unlike every other refused method. Placed
    just before CsrfViewMiddleware; the view never runs, so nothing it guards is reached.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        methods = view_methods(view)
        if methods is not None and request.method not in methods:
            return HttpResponseNotAllowed(methods)  # our page, from MethodNotAllowedMiddleware
        return None


# Longest path and query any page here needs: links and forms stay far below it.
MAX_URL_LENGTH = 2048


class LongUrlMiddleware:
    """Answer an absurdly long address with our own page (414), before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if len(request.get_full_path()) > MAX_URL_LENGTH:
            return error_page(
                request,
                414,
                _(
                    "Check the link: it seems to have been copied "
                    "with extra text, or cut in a strange place."
                ),
            )
        return self.get_response(request)
