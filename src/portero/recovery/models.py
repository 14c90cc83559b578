"""Recovery requests (what someone asked for) and resets (what an e-mail lets its reader do)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portero.core import clock


class RequestKind(models.TextChoices):
    PASSWORD = "password", _("Forgotten password")
    USERNAME = "username", _("Forgotten username")


class RequestOutcome(models.TextChoices):
    PENDING = "pending", _("Pending")
    EMAIL_QUEUED = "email_queued", _("E-mail queued")
    NO_ACCOUNT = "no_account", _("No such account")
    ACCOUNT_DISABLED = "account_disabled", _("Account disabled")
    NO_EMAIL = "no_email", _("Account has no e-mail address")
    THROTTLED = "throttled", _("Not sent: too many requests")


class RecoveryRequest(models.Model):
    """A submitted forgot-password or forgot-username form.

    The web request only inserts this row, whatever was typed (FR1, FU1); the worker looks the
    account up, writes the audit row, then forgets the raw identifier and keeps its keyed
    digest. `processed_at` is empty until the worker has done so, throttled requests included.
    """

    kind = models.CharField(max_length=16, choices=RequestKind.choices)
    identifier = models.CharField(max_length=254, blank=True)
    identifier_digest = models.CharField(max_length=64, db_index=True)
    language = models.CharField(max_length=8)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=24, choices=RequestOutcome.choices, default=RequestOutcome.PENDING
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recovery_requests",
    )
    # For the audit row the worker writes: the web request's id and the rules it exceeded.
    request_id = models.CharField(max_length=32, blank=True)
    limited_by = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"],
                condition=Q(processed_at__isnull=True),
                name="recovery_request_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} request #{self.pk} ({self.outcome})"


class ResetPurpose(models.TextChoices):
    RESET = "reset", _("Password recovery")
    ACTIVATION = "activation", _("Account activation")


class PasswordReset(models.Model):
    """The right, carried by one e-mail, to set a user's password once before `expires_at`.

    `selector` is public and random; the link's secret is an HMAC of it under the server key, so
    this table alone cannot be turned into a working link (TK1). A reset dies when used, when it
    expires, or when the password changes after it was issued (TK5).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_resets"
    )
    request = models.ForeignKey(
        RecoveryRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="resets"
    )
    purpose = models.CharField(max_length=16, choices=ResetPurpose.choices)
    selector = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    code_failures = models.PositiveSmallIntegerField(default=0)  # wrong codes tried (TK7)

    def __str__(self) -> str:
        return f"reset #{self.pk} for user {self.user_id}"
