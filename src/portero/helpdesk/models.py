"""Receipts of help-desk actions: one per submitted form, so a double click acts once."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from portero.core import clock


class ActionReceipt(models.Model):
    """A help-desk action that was carried out. The roles' permissions live on this model."""

    token = models.CharField(max_length=64, unique=True)  # one per rendered form
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="helpdesk_actions"
    )
    action = models.CharField(max_length=32)
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="helpdesk_actions_received",
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        permissions = [
            ("use_console", "Can use the Mesa de Servicio console"),
            ("supervise", "Can disable and enable accounts and act on agents"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.agent_id} on {self.target_id}"
