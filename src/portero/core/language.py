"""The browser's remembered language: the cookie Django's language switch sets."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse


def language_cookie_set(response: HttpResponse, language: str) -> None:
    """Remember `language` in the browser, exactly as Django's `set_language` does."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type] # "Lax" (settings)
    )
