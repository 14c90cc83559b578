"""Record security events: a row in the audit table and a JSON line in the security log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from portero.audit.chain import chain_purge_before, chain_seal, event_append
from portero.audit.events import EventType
from portero.audit.models import AuditEvent
from portero.core import clock
from portero.core.client import ClientInfo
from portero.core.security_log import emit


def event_record(
    event: EventType,
    *,
    outcome: str = "ok",
    user: Any = None,
    actor: str = "",
    subject: str = "",
    client: ClientInfo | None = None,
    **details: Any,
) -> AuditEvent:
    """Record `event`; call inside the transaction of the change it reports (STYLE habit 8)."""
    if not actor:
        actor = f"user:{user.pk}" if user is not None and client is not None else "system"
    if not subject and user is not None:
        subject = f"user:{user.pk}"
    ip, now = (client.ip if client else None), clock.now()
    record = emit(
        event.value, outcome=outcome, actor=actor, subject=subject, ip=ip, at=now, **details
    )
    return event_row_add(
        event,
        at=now,
        request_id=record["request_id"],
        outcome=outcome,
        actor=actor,
        subject=subject,
        ip=ip,
        user=user,
        **details,
    )


def event_row_add(
    event: EventType,
    *,
    at: datetime,
    request_id: str,
    outcome: str,
    actor: str,
    subject: str,
    ip: str | None,
    user: Any = None,
    **details: Any,
) -> AuditEvent:
    """Add only the audit row of an event whose log line is written apart (no log line here).

    For work the web request hands to the worker: the row carries the request's own time and
    request id, so the log line the request wrote and the row still match.
    """
    return event_append(
        AuditEvent(
            created_at=at,
            event=event.value,
            outcome=outcome,
            actor=actor,
            user=user,
            subject=subject,
            ip=ip,
            request_id=request_id,
            details=details,
        )
    )


def events_purge() -> int:
    """Delete events older than PORTERO_AUDIT_RETENTION_DAYS (LG4); return how many.

    Rows still waiting for the worker are sealed first: only chained rows are purged.
    """
    events_seal()
    cutoff = clock.now() - timedelta(days=settings.PORTERO_AUDIT_RETENTION_DAYS)
    return chain_purge_before(cutoff)


def events_seal() -> int:
    """Chain every row written since the last seal (the worker's job); return how many."""
    total = 0
    while sealed := chain_seal():
        total += sealed
    return total
