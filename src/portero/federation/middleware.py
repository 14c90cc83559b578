"""A provider without its signing keys says so, instead of failing with a 500."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portero.core.errors import error_page
from portero.federation.keys import KeysMissing

log = logging.getLogger(__name__)


GUARDED = ("/o/", "/cuenta/aplicaciones/")


class FederationGuardMiddleware:
    """Refuse a NUL character in the provider's parameters before anything reads them.

    The library and Portero pass client ids, codes, nonces and challenges straight to the
    database, and PostgreSQL refuses NUL in text: without this, a 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(GUARDED) and _has_nul(request):
            return render(
                request, "federation/error.html", {"error": "invalid_request"}, status=400
            )
        return self.get_response(request)


def _has_nul(request: HttpRequest) -> bool:
    values = [request.path, *request.GET.keys(), *(v for vs in request.GET.lists() for v in vs[1])]
    if request.method == "POST" and request.content_type in {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }:
        values += [*request.POST.keys(), *(v for vs in request.POST.lists() for v in vs[1])]
    return any("\x00" in value for value in values)


class KeysMissingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, KeysMissing):
            log.error("%s", exception)
            return error_page(request, 503)
        return None
