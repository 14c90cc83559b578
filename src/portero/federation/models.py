"""Federation: what Portero keeps about the portals (clients) and what it gave them.

django-oauth-toolkit owns clients (`Application`), codes (`Grant`) and tokens; these models
add what it lacks: each person's opaque subject, each client's back-channel logout address and
consent choice, which Portero session every code and token family came from, and an outbox
of logout tokens.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import Application

from portero.core import clock


def new_subject() -> str:
    return secrets.token_urlsafe(24)


class Subject(models.Model):
    """A person's `sub`: random, stable, never the username, e-mail or database id (OI4)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_subject"
    )
    sub = models.CharField(max_length=43, unique=True, default=new_subject)

    def __str__(self) -> str:
        return self.sub


class ClientProfile(models.Model):
    """What Portero knows of a client beyond django-oauth-toolkit's `Application`."""

    application = models.OneToOneField(
        Application, on_delete=models.CASCADE, related_name="portero_profile"
    )
    backchannel_logout_uri = models.URLField(max_length=500, blank=True)
    consent_required = models.BooleanField(default=False)  # first-party clients skip it

    def __str__(self) -> str:
        return f"profile of {self.application_id}"


class Consent(models.Model):
    """A person's agreement that a portal (one that asks) may see these scopes (OI7)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_consents"
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="portero_consents"
    )
    scopes = models.JSONField(default=list)
    granted_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "application"], name="federation_consent_once")
        ]

    def __str__(self) -> str:
        return f"consent {self.user_id} -> {self.application_id}"


class Authorization(models.Model):
    """One authorization code and what it became; kept after the code is used (OI3, OI6).

    Links the code to the Portero session it was issued in (`sid`), so the ID token can carry
    `sid` and `auth_time`, a second use of the code can revoke what the first produced, and
    the end of the session can revoke the tokens and reach the portal.
    """

    code_hash = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="portero_authorizations"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_authorizations"
    )
    sid = models.CharField(max_length=43, db_index=True)
    auth_time = models.DateTimeField()
    amr = models.JSONField(default=list)
    acr = models.CharField(max_length=64, blank=True)
    scope = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    used_at = models.DateTimeField(null=True, blank=True)
    token_family = models.UUIDField(null=True, blank=True, db_index=True)
    session_ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"authorization {self.pk} ({self.application_id}, sid {self.sid[:6]}…)"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Delivered")
    RETRYING = "retrying", _("Retrying")
    FAILED = "failed", _("Failed")


class LogoutDelivery(models.Model):
    """One back-channel logout token for one portal and one ended session (OI6).

    Mail-like: inserted in the transaction that ends the session, sent by the worker with
    retries and backoff, its state visible to the help desk. The token itself is signed at
    send time, so nothing secret is stored.
    """

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="portero_logouts"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="oidc_logouts"
    )
    sub = models.CharField(max_length=43)
    sid = models.CharField(max_length=43)
    uri = models.URLField(max_length=500)
    reason = models.CharField(max_length=16)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)
    next_attempt_at = models.DateTimeField(default=clock.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    give_up_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="federation_logout_due")]

    def __str__(self) -> str:
        return f"logout #{self.pk} to {self.application_id} ({self.status})"
