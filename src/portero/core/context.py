"""Template context shared by every page and e-mail."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_language


def _english(language: str | None) -> bool:
    return (language or get_language() or "").startswith("en")


def helpdesk_name(language: str | None = None) -> str:
    """Return the help desk's name in `language` (default: the active one)."""
    english = _english(language)
    return settings.PORTERO_HELPDESK_NAME_EN if english else settings.PORTERO_HELPDESK_NAME


def branding(language: str | None = None) -> dict[str, Any]:
    """Return the site's configured names, help-desk details and legal links, in `language`
    (default: the active one)."""
    english = _english(language)
    return {
        "site_name": settings.PORTERO_SITE_NAME,
        "organization": settings.PORTERO_ORGANIZATION,
        "helpdesk_name": helpdesk_name(language),
        "helpdesk_hours": (
            settings.PORTERO_HELPDESK_HOURS_EN if english else settings.PORTERO_HELPDESK_HOURS
        ),
        "helpdesk_phones": (
            settings.PORTERO_HELPDESK_PHONES_EN if english else settings.PORTERO_HELPDESK_PHONES
        ),
        "helpdesk_url": settings.PORTERO_HELPDESK_URL,
        "terms_url": settings.PORTERO_TERMS_URL,
        "privacy_url": settings.PORTERO_PRIVACY_URL,
        "security_url": settings.PORTERO_SECURITY_URL,
        "notification_settings_url": settings.PORTERO_NOTIFICATION_SETTINGS_URL,
        "base_url": settings.PORTERO_BASE_URL,
        "demo": settings.DEMO,
        "mail_from_address": parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
        "reset_ttl_minutes": settings.PORTERO_RESET_TTL_MINUTES,
        "password_min_length": settings.PORTERO_PASSWORD_MIN_LENGTH,
    }


def site(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the branding for the request's language."""
    return branding()
