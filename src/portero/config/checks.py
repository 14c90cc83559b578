"""Start-up checks for combinations of settings that cannot work (STYLE habit 7)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def check_helpdesk_contact(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Production e-mails must tell users where to get help (the Mesa de Servicio footer)."""
    if settings.PRODUCTION and not (
        settings.PORTERO_HELPDESK_PHONES or settings.PORTERO_HELPDESK_URL
    ):
        return [
            Warning(
                "No help-desk phone or URL is configured; recovery e-mails will not say where to "
                "get help.",
                hint="Set PORTERO_HELPDESK_PHONES and/or PORTERO_HELPDESK_URL.",
                id="portero.W001",
            )
        ]
    return []


@register()
def check_mail_retry_delays(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """The first retry's delay cannot be longer than the longest one."""
    if settings.PORTERO_MAIL_RETRY_BASE_SECONDS > settings.PORTERO_MAIL_RETRY_MAX_SECONDS:
        return [
            Error(
                "PORTERO_MAIL_RETRY_BASE_SECONDS is larger than PORTERO_MAIL_RETRY_MAX_SECONDS.",
                id="portero.E001",
            )
        ]
    return []


@register()
def check_signing_keys(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """In production the OpenID Connect provider needs its key file, made by an operator."""
    if settings.PRODUCTION and not settings.PORTERO_OIDC_KEYS_FILE.exists():
        return [
            Warning(
                f"The ID-token signing key file {settings.PORTERO_OIDC_KEYS_FILE} does not exist: "
                "portals cannot sign in through Portero until it does.",
                hint="Run `portero keys rotate` once (and set PORTERO_OIDC_KEYS_FILE to keep it "
                "outside the working directory).",
                id="portero.W002",
            )
        ]
    return []
