"""What a portal learns about a person, by scope (OI4)."""

from __future__ import annotations

import hashlib
from typing import Any

from portero.accounts.models import User
from portero.federation.models import Subject

# openid -> sub; profile -> preferred_username, name, locale; email -> email, email_verified.
# (The scope of each claim is the library's `oidc_claim_scope`, the standard's table.)
# organizacion -> organizacion (the organization the session acts for: portero.organizations).
SUPPORTED_CLAIMS = (
    "sub",
    "preferred_username",
    "name",
    "locale",
    "email",
    "email_verified",
    "sid",
    "auth_time",
    "amr",
    "acr",
    "iss",
    "aud",
    "exp",
    "iat",
    "nonce",
    "organizacion",
)
# How a session was authenticated: a password (or anything) alone, or two factors (a password
# and a code, or a passkey with user verification). Portals ask for the second with acr_values.
ACR_PASSWORD = "urn:portero:acr:pwd"  # noqa: S105 (a URN)
ACR_MFA = "urn:portero:acr:mfa"
ACR_VALUES = (ACR_PASSWORD, ACR_MFA)


def acr_of(amr: list[str]) -> str:
    """Return the `acr` a session earned by what it proved (its `amr`, RFC 8176)."""
    return ACR_MFA if "mfa" in amr else ACR_PASSWORD


LOCALES = {"es-co": "es-CO", "en": "en"}


def subject_of(user: User) -> str:
    """Return the person's `sub`, creating it on first use (read with the account when the
    query asked for `oidc_subject`)."""
    try:
        return user.oidc_subject.sub  # type: ignore[attr-defined]
    except Subject.DoesNotExist:
        subject, _ = Subject.objects.get_or_create(user=user)
        user.oidc_subject = subject  # type: ignore[attr-defined]
        return subject.sub


def claims_of(user: User) -> dict[str, Any]:
    """Return every claim Portero can state about `user`; the library filters them by scope."""
    return {
        "sub": subject_of(user),
        "preferred_username": user.username,
        "name": user.get_full_name(),
        "locale": LOCALES.get(language := user.preferred_language(), language),
        "email": user.email,
        "email_verified": user.email_verified,
    }


def code_hash(code: str) -> str:
    """Return the digest under which a code's authorization is kept (never the code)."""
    return hashlib.sha256(code.encode()).hexdigest()
