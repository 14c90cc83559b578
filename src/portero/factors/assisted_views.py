"""The page of the e-mail's "No fui yo, cancelar" link (MF4): it works without signing in.

A GET only shows the page and its one button, since corporate link scanners open every link in
an e-mail; the POST cancels. The URL holds the link's secret: the page is never cached, and
the site's Referrer-Policy (same-origin) keeps it from every other site. Not "no-referrer":
browsers would then send "Origin: null" with the button's POST, which CSRF protection refuses.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from portero.core.client import ClientInfo
from portero.factors import assisted


@require_http_methods(["GET", "HEAD", "POST"])
def assisted_cancel(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        assisted.assisted_recovery_cancel_by_owner(
            token=token, client=ClientInfo.from_request(request)
        )
        response: HttpResponse = redirect(request.path)  # the page then says what happened
    else:
        recovery = assisted.recovery_by_token(token)
        response = render(
            request,
            "factors/assisted_cancel.html",
            {"recovery": recovery},
            status=200 if recovery else 404,
        )
    response["Cache-Control"] = "no-store"
    return response
