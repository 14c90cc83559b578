"""Security headers on every response (HB1, TK3)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# Everything is served by Portero itself (HB4); no inline script or style is ever needed.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def form_targets_allow(response: HttpResponse, *origins: str) -> HttpResponse:
    """Let this page's forms lead to `origins` too (CSP form-action covers the redirects after
    a POST): a portal's sign-in continues at the portal's own address."""
    setattr(response, "portero_form_targets", [o for o in origins if o])  # noqa: B010
    return response


def _policy(response: HttpResponse) -> str:
    extra = getattr(response, "portero_form_targets", None)
    if not extra:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", "form-action 'self' " + " ".join(extra)
    )


class SecurityHeadersMiddleware:
    """Add CSP and, on pages (not static assets), `Cache-Control: no-store`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", _policy(response))
        public = "public" in response.headers.get("Cache-Control", "")
        if not request.path.startswith("/static/") and not public:
            # Every page here concerns an account: never keep one in a shared cache. The one
            # exception is a view that says it is public (the provider's keys and discovery).
            response.headers["Cache-Control"] = "no-store"
        return response
