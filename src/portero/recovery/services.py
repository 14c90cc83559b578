"""Recording what someone asked for, the same way for every recovery form."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from portero.audit.events import EventType
from portero.core import clock, ratelimit, security_log
from portero.core.client import ClientInfo
from portero.mail.models import EmailStatus, OutboundEmail
from portero.recovery.models import PasswordReset, RecoveryRequest, RequestKind, RequestOutcome
from portero.recovery.tokens import identifier_digest

# The rate-limited action (PORTERO_RATE_LIMITS) each kind of request counts against, and the
# event that records it.
_RATE_LIMITED_AS = {
    RequestKind.PASSWORD: "password_reset",
    RequestKind.USERNAME: "username_reminder",
}
EVENTS = {
    RequestKind.PASSWORD: EventType.RESET_REQUESTED,
    RequestKind.USERNAME: EventType.USERNAME_REMINDER_REQUESTED,
}


@transaction.atomic
def recovery_request_record(*, kind: RequestKind, typed: str, normalized: str,
                            client: ClientInfo) -> RecoveryRequest:
    """Count the request against its rate limits, then record it for the worker.

    The limits are counted on keyed hashes of what was typed and on the address, before
    anything depends on whether an account exists (FR2, FU3). A limited request is recorded as
    throttled and answered exactly like any other.

    This is the whole of the web request's work: the rate-limit counters and one insert, in one
    transaction. The worker writes the request's audit row (from the same fields, with this
    request's id and time) when it processes it; the security log line is written here.
    """
    event = EVENTS[kind]
    limited = ratelimit.hit(_RATE_LIMITED_AS[kind], account=normalized, ip=client.ip)
    outcome = "throttled" if limited else "accepted"
    request = RecoveryRequest.objects.create(
        kind=kind, identifier="" if limited else typed.strip()[:254],
        identifier_digest=identifier_digest(normalized), language=client.language,
        ip=client.ip, user_agent=client.user_agent, created_at=clock.now(),
        request_id=security_log.request_id.get(), limited_by=limited,
        outcome=RequestOutcome.THROTTLED if limited else RequestOutcome.PENDING,
    )
    security_log.emit(event.value, outcome=outcome, actor="anonymous", at=request.created_at,
                      subject=f"request:{request.pk}", ip=client.ip, rules=limited)
    return request


@transaction.atomic
def recovery_history_purge() -> int:
    """Delete requests, dead resets and finished messages older than the retention period."""
    cutoff = clock.now() - timedelta(days=settings.PORTERO_RECOVERY_RETENTION_DAYS)
    finished = [EmailStatus.SENT, EmailStatus.FAILED, EmailStatus.CANCELLED]
    emails, _ = OutboundEmail.objects.filter(created_at__lt=cutoff, status__in=finished).delete()
    resets, _ = PasswordReset.objects.filter(expires_at__lt=cutoff).delete()
    requests, _ = RecoveryRequest.objects.filter(created_at__lt=cutoff,
                                                 processed_at__isnull=False).delete()
    return emails + resets + requests


def resets_cancel(*, user: Any) -> int:
    """End every outstanding recovery link of `user` now (the account is being disabled: a
    link sent before must not work again if it is enabled later); return how many."""
    now = clock.now()
    return PasswordReset.objects.filter(user=user, used_at__isnull=True,
                                        expires_at__gt=now).update(expires_at=now)
