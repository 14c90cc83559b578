"""The security event table: one row per security action, written with the change it records."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from portero.core import clock


class AuditEvent(models.Model):
    """An append-only record. Never holds a password, token, code or session id (LG2)."""

    created_at = models.DateTimeField(default=clock.now, db_index=True)
    event = models.CharField(max_length=48, db_index=True)
    outcome = models.CharField(max_length=24)
    actor = models.CharField(max_length=64, blank=True)  # "user:12", "system", "anonymous"
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    subject = models.CharField(max_length=96, blank=True)  # what was acted on, never raw input
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=32, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="audit_user_recent")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.event} {self.outcome}"
