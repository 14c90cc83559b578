"""The demo inbox: read what the local SMTP server received (demo mode only)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from portero.demo.inbox import inbox_message, inbox_messages

# The HTML part is shown as its own document, locked down: no script, no outside resource.
HTML_PART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def _maildir():  # type: ignore[no-untyped-def]
    if not settings.DEMO or settings.PORTERO_DEMO_MAILDIR is None:
        raise Http404
    return settings.PORTERO_DEMO_MAILDIR


@require_http_methods(["GET", "HEAD"])
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/inbox.html", {"messages_": inbox_messages(_maildir())})


@require_http_methods(["GET", "HEAD"])
def message(request: HttpRequest, key: str) -> HttpResponse:
    found = inbox_message(_maildir(), key)
    if found is None:
        raise Http404
    return render(request, "demo/message.html", {"message": found})


@require_http_methods(["GET", "HEAD"])
def message_html(request: HttpRequest, key: str) -> HttpResponse:
    found = inbox_message(_maildir(), key)
    if found is None or not found.html:
        raise Http404
    response = HttpResponse(found.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = HTML_PART_POLICY
    return response
