"""Our own error pages (HB3): generic, translated, no stack trace or version."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template import loader
from django.utils.translation import gettext as _

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
        body = template.render({"status": status, "title": TITLES[status](), "detail": detail},
                               request)
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
    return error_page(request, 500)


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


# Longest path and query any page here needs: links and forms stay far below it.
MAX_URL_LENGTH = 2048


class LongUrlMiddleware:
    """Answer an absurdly long address with our own page (414), before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if len(request.get_full_path()) > MAX_URL_LENGTH:
            return error_page(request, 414, _("Check the link: it seems to have been copied "
                                               "with extra text, or cut in a strange place."))
        return self.get_response(request)
