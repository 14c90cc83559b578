"""Django's WSGI handler, answering 400 to a request it cannot even read."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.wsgi import WSGIHandler

log = logging.getLogger(__name__)

# Written out, in both languages: the request could not be read, so there is no language to
# negotiate nor a request to render a template with.
BAD_REQUEST = (
    b'<!doctype html><html lang="es-CO"><meta charset="utf-8"><title>400</title>'
    b"<h1>No se pudo entender la solicitud</h1>"
    b"<p>The request could not be understood. Vuelva a intentarlo desde la p\xc3\xa1gina "
    b"de ingreso.</p></html>"
)


class PorteroWSGIHandler(WSGIHandler):
    """Django builds the request object before any middleware or error handling: a header it
    cannot parse (a Content-Type with a bogus RFC 2231 charset, say) escaped as a 500 and cost
    the server a worker's log line. Such a request gets a plain 400 instead."""

    def __call__(  # type: ignore[override]
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Iterable[bytes]:
        try:
            return super().__call__(environ, start_response)
        except (ValueError, UnicodeError, LookupError) as error:
            log.warning("unreadable request refused: %s", type(error).__name__)
            start_response(
                "400 Bad Request",
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Length", str(len(BAD_REQUEST))),
                    ("Cache-Control", "no-store"),
                    ("X-Content-Type-Options", "nosniff"),
                ],
            )
            return [BAD_REQUEST]
