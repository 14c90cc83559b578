"""Put messages in the outbox; the worker (portero.mail.delivery) sends them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from portero.core import clock
from portero.mail.models import EmailKind, OutboundEmail


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
    return email  # on PostgreSQL the insert wakes an idle worker (portero.core.work_notify)
