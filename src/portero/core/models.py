"""Core's own table: rate-limit counters when Redis is not configured."""

from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """Hits of one rule for one hashed key in one time window."""

    key = models.CharField(max_length=160, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}={self.count}"
