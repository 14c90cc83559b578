"""A provider without its signing keys says so, instead of failing with a 500."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from portero.core.errors import error_page
from portero.federation.keys import KeysMissing

log = logging.getLogger(__name__)


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
