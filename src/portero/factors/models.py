"""Second factors (SECURITY.md L): an authenticator app, passkeys and backup codes.

A factor counts once it is confirmed: an authenticator app after its first code, a passkey
once registered, backup codes once generated. Secrets a person types (backup codes) are kept
as keyed digests only; the authenticator app's shared secret must be kept to check codes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portero.core import clock


class AuthenticatorApp(models.Model):
    """A TOTP secret (RFC 6238) shared with the person's app: at most one per account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authenticator_app"
    )
    secret = models.CharField(max_length=64)  # base32, as the app was given it
    created_at = models.DateTimeField(default=clock.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)  # None: enrolment unfinished
    # The time step of the last accepted code: that code, and older ones, never work again.
    last_step = models.BigIntegerField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("authenticator app")

    def __str__(self) -> str:
        return f"totp:{self.user_id}"


class Passkey(models.Model):
    """A WebAuthn credential (passkey) registered with user verification."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys"
    )
    name = models.CharField(_("name"), max_length=60)
    credential_id = models.BinaryField(unique=True)
    credential = models.BinaryField()  # fido2's AttestedCredentialData, as bytes
    sign_count = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("passkey")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"passkey:{self.user_id}:{self.name}"


class BackupCode(models.Model):
    """One single-use backup code, kept as a keyed digest (never the code)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backup_codes"
    )
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint("user", "digest", name="factors_backupcode_unique")]

    def __str__(self) -> str:
        return f"backup:{self.user_id}:{'used' if self.used_at else 'unused'}"


class AssistedRecoveryState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    CANCELLED = "cancelled", _("Cancelled")
    COMPLETED = "completed", _("Completed")


class AssistedRecovery(models.Model):
    """The Mesa de Servicio's way back for a person who lost every factor (MF4).

    A supervisor starts it with a written reason; the account's address is told at once and
    can cancel it; after PORTERO_ASSISTED_RECOVERY_HOURS the worker removes every factor.
    States: pending -> cancelled | completed, each move a conditional update (one wins).
    The cancel link's secret is not stored: it is derived from `selector` and the server key,
    as recovery links are (factors.assisted).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assisted_recoveries"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("reason"))
    selector = models.CharField(max_length=32, unique=True)
    started_at = models.DateTimeField(default=clock.now)
    due_at = models.DateTimeField()
    state = models.CharField(
        max_length=16, choices=AssistedRecoveryState.choices, default=AssistedRecoveryState.PENDING
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # "owner" (the e-mail's link) or "agent:<id>" (a supervisor in the console).
    cancelled_by = models.CharField(max_length=32, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Set on completion: the next sign-in asks for a new factor; cleared once there is one.
    enrolment_pending = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("assisted recovery")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                "user", condition=models.Q(state="pending"), name="factors_assisted_one_pending"
            ),
        ]
        indexes = [models.Index(fields=["state", "due_at"], name="factors_assisted_due")]

    def __str__(self) -> str:
        return f"assisted:{self.user_id}:{self.state}"
