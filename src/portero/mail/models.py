"""The outbox: every e-mail Portero sends, with its delivery state."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portero.core import clock


class EmailKind(models.TextChoices):
    PASSWORD_RESET = "password_reset", _("Password recovery")
    ACCOUNT_ACTIVATION = "account_activation", _("Account activation")
    USERNAME_REMINDER = "username_reminder", _("Username reminder")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    NEW_DEVICE_SIGN_IN = "new_device_sign_in", _("Sign-in from a new device")
    FACTOR_CHANGED = "factor_changed", _("Second factor changed")
    MEMBERSHIP_CHANGED = "membership_changed", _("Organization membership changed")
    MEMBERSHIP_REQUESTED = "membership_requested", _("Organization access request")
    ASSISTED_RECOVERY = "assisted_recovery", _("Assisted recovery started")


class EmailStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    RETRYING = "retrying", _("Retrying")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Not sent: no longer needed")
    # Sent, then reported undeliverable by a delivery-status notification (portero bounces).
    BOUNCED = "bounced", _("Bounced")


class OutboundEmail(models.Model):
    """One message to one address. The body is rendered at send time, so no secret is stored:
    a recovery link is derived from its reset's selector and the server key."""

    kind = models.CharField(max_length=32, choices=EmailKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emails",
    )
    to_address = models.EmailField()
    language = models.CharField(max_length=8)
    context = models.JSONField(default=dict, blank=True)
    reset = models.ForeignKey(
        "recovery.PasswordReset",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emails",
    )
    status = models.CharField(
        max_length=16, choices=EmailStatus.choices, default=EmailStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)
    next_attempt_at = models.DateTimeField(default=clock.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    give_up_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    smtp_reply = models.CharField(max_length=500, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # The latest delivery-status notification about it (docs/mail.md, "Bounces"): when it came,
    # its Status (5.1.1: hard, the address is wrong; 4.2.2: soft, try later) and Diagnostic-Code.
    bounced_at = models.DateTimeField(null=True, blank=True)
    bounce_status = models.CharField(max_length=16, blank=True)
    bounce_diagnostic = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="mail_outbox_due")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class UndeliverableAddress(models.Model):
    """An account's address that a hard bounce (5.x.x) reported as undeliverable.

    It flags the account only while the account still has this address: a new address, set by
    the owner or the help desk, is not flagged. It is also cleared by proof that mail reaches the
    address after all: a link sent to it opened after the bounce (see `address_undeliverable`).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="undeliverable_addresses"
    )
    address = models.EmailField()  # lower-case
    email = models.ForeignKey(OutboundEmail, null=True, on_delete=models.SET_NULL, related_name="+")
    bounced_at = models.DateTimeField()
    status = models.CharField(max_length=16)
    diagnostic = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "address"], name="mail_undeliverable_once")
        ]

    def __str__(self) -> str:
        return f"{self.address} ({self.status})"
