"""Put messages in the outbox; the worker (portero.mail.delivery) sends them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from portero.core import clock
from portero.mail.models import EmailKind, OutboundEmail

WORK_CHANNEL = "portero_work"  # idle workers LISTEN here (PostgreSQL); see portero.worker


def worker_wake() -> None:
    """Wake an idle worker when the current transaction commits (PostgreSQL; else polling)."""
    if connection.vendor == "postgresql":
        # NOTIFY is delivered at commit, so the worker never wakes before the row is visible.
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {WORK_CHANNEL}")


def email_queue(*, kind: EmailKind, to_address: str, language: str, user: Any = None,
                reset: Any = None, context: dict[str, Any] | None = None,
                give_up_at: datetime | None = None) -> OutboundEmail:
    """Queue one message; call inside the transaction of the change it reports."""
    now = clock.now()
    window = timedelta(hours=settings.PORTERO_MAIL_RETRY_WINDOW_HOURS)
    email = OutboundEmail.objects.create(
        kind=kind, to_address=to_address, language=language, user=user, reset=reset,
        context=context or {}, created_at=now, next_attempt_at=now,
        give_up_at=give_up_at or now + window,
    )
    worker_wake()
    return email
