"""`portero audit purge`: apply the retention period of security events (LG4)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from portero.audit.services import events_purge


class Command(BaseCommand):
    help = "Manage the security event table. `purge` deletes events past the retention period."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["purge"])

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        deleted = events_purge()
        self.stdout.write(f"deleted {deleted} event(s) older than "
                          f"{settings.PORTERO_AUDIT_RETENTION_DAYS} days")
