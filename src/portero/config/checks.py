"""Start-up checks for combinations of settings that cannot work (STYLE habit 7)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def check_branding(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    """Production e-mails must tell users where to get help (the Mesa de Servicio footer)."""
    problems: list[Error | Warning] = []
    if settings.PRODUCTION and not (
        settings.PORTERO_HELPDESK_PHONES or settings.PORTERO_HELPDESK_URL
    ):
        problems.append(Warning(
            "No help-desk phone or URL is configured; recovery e-mails will not say where to "
            "get help.",
            hint="Set PORTERO_HELPDESK_PHONES and/or PORTERO_HELPDESK_URL.",
            id="portero.W001",
        ))
    if settings.PORTERO_MAIL_RETRY_BASE_SECONDS > settings.PORTERO_MAIL_RETRY_MAX_SECONDS:
        problems.append(Error(
            "PORTERO_MAIL_RETRY_BASE_SECONDS is larger than PORTERO_MAIL_RETRY_MAX_SECONDS.",
            id="portero.E001",
        ))
    return problems


@register()
def check_signing_keys(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """In production the OpenID Connect provider needs its key file, made by an operator."""
    if settings.PRODUCTION and not settings.PORTERO_OIDC_KEYS_FILE.exists():
        return [Warning(
            f"The ID-token signing key file {settings.PORTERO_OIDC_KEYS_FILE} does not exist: "
            "portals cannot sign in through Portero until it does.",
            hint="Run `portero keys rotate` once (and set PORTERO_OIDC_KEYS_FILE to keep it "
                 "outside the working directory).",
            id="portero.W002",
        )]
    return []
