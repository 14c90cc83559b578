"""Put messages in the outbox; the worker (portero.mail.delivery) sends them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from portero.core import clock
from portero.mail.models import EmailKind, EmailStatus, OutboundEmail


def email_queue(
    *,
    kind: EmailKind,
    to_address: str,
    language: str,
    user: Any = None,
    reset: Any = None,
    context: dict[str, Any] | None = None,
    give_up_at: datetime | None = None,
) -> OutboundEmail:
    """Queue one message; call inside the transaction of the change it reports."""
    email = email_new(
        kind=kind,
        to_address=to_address,
        language=language,
        user=user,
        reset=reset,
        context=context,
        give_up_at=give_up_at,
    )
    email.save(force_insert=True)
    return email  # on PostgreSQL the insert wakes an idle worker (portero.core.work_notify)


def email_new(
    *,
    kind: EmailKind,
    to_address: str,
    language: str,
    user: Any = None,
    reset: Any = None,
    context: dict[str, Any] | None = None,
    give_up_at: datetime | None = None,
) -> OutboundEmail:
    """Return a message ready to queue, not saved yet (for inserting many in one statement)."""
    now = clock.now()
    return OutboundEmail(
        kind=kind,
        to_address=to_address,
        language=language,
        user=user,
        reset=reset,
        context=context or {},
        created_at=now,
        next_attempt_at=now,
        give_up_at=give_up_at or _retry_window_end(now),
    )


def email_requeue(*, email: OutboundEmail, now: datetime) -> bool:
    """Give a failed or retrying message a new attempt now, with a fresh retry window (a
    recovery e-mail still only until its link expires); False if its state changed meanwhile."""
    give_up = email.reset.expires_at if email.reset else _retry_window_end(now)
    return bool(
        OutboundEmail.objects.filter(pk=email.pk, status=email.status).update(
            status=EmailStatus.QUEUED, next_attempt_at=now, give_up_at=give_up, lease_until=None
        )
    )


def _retry_window_end(now: datetime) -> datetime:
    return now + timedelta(hours=settings.PORTERO_MAIL_RETRY_WINDOW_HOURS)
