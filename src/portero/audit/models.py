"""The audit trail: append-only security events in a hash chain (tamper-evident)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from portero.core import clock


class AuditEvent(models.Model):
    """One security event. Never holds a password, token, code or session id (LG2).

    A row is written once, by the change it reports, and sealed moments later by the worker
    (`chain_seal`): `seq` places it in the chain and `row_hash` is HMAC-SHA256, under the key
    named by `key_id` (from PORTERO_AUDIT_KEY_FILE, never in the database), over the previous
    row's hash and this row's fields, so editing, deleting or reordering a sealed row breaks
    every hash after it, and nobody without the key can compute them again (`portero audit
    verify`). Until sealed, `seq` is null. Rows sealed before keys existed have no `key_id`
    and a plain SHA-256 `row_hash` (see AuditChain.legacy_seq).
    """

    created_at = models.DateTimeField(default=clock.now, db_index=True)
    event = models.CharField(max_length=48, db_index=True)
    outcome = models.CharField(max_length=24)
    actor = models.CharField(max_length=64, blank=True)  # "user:12", "system", "anonymous"
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
        db_constraint=False,  # events outlive accounts
    )
    subject = models.CharField(max_length=96, blank=True)  # what was acted on, never raw input
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=32, blank=True)
    details = models.JSONField(default=dict, blank=True)
    seq = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True)
    row_hash = models.CharField(max_length=64, blank=True)
    key_id = models.CharField(max_length=16, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at"], name="audit_user_recent"),
            # The sealer's work list stays small however long the trail grows.
            models.Index(
                fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsealed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.event} {self.outcome}"


class AuditChain(models.Model):
    """The single row holding the chain's head, and the anchor left by purges (both by seq).

    The anchor and the legacy epoch carry a tag, "<key id>:<HMAC>", that only a holder of the
    audit key can make: moving them is detected. The head needs none (its hash is a keyed row
    hash); moving it back to an older row is what the checkpoints outside the database catch.
    """

    head_seq = models.BigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, default="")
    anchor_seq = models.BigIntegerField(default=0)  # last purged row
    anchor_hash = models.CharField(max_length=64, default="")
    anchor_tag = models.CharField(max_length=81, blank=True)
    # Rows up to legacy_seq were sealed before the chain was keyed (migration 0004): plain
    # SHA-256, pinned by the keyed tag over the last one's hash. 0: every row is keyed.
    legacy_seq = models.BigIntegerField(default=0)
    legacy_hash = models.CharField(max_length=64, blank=True)
    legacy_tag = models.CharField(max_length=81, blank=True)

    def __str__(self) -> str:
        return f"audit chain head #{self.head_seq}"
