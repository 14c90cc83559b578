"""Recording what someone asked for, the same way for every recovery form."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction

from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock, ratelimit
from portero.core.client import ClientInfo
from portero.mail.models import EmailStatus, OutboundEmail
from portero.mail.services import worker_wake
from portero.recovery.models import PasswordReset, RecoveryRequest, RequestKind, RequestOutcome
from portero.recovery.tokens import identifier_digest

_ACTIONS = {
    RequestKind.PASSWORD: ("password_reset", EventType.RESET_REQUESTED),
    RequestKind.USERNAME: ("username_reminder", EventType.USERNAME_REMINDER_REQUESTED),
}


@transaction.atomic
def recovery_request_record(*, kind: RequestKind, typed: str, normalized: str,
                            client: ClientInfo) -> RecoveryRequest:
    """Count the request against its rate limits, then record it for the worker.

    The limits are counted on keyed hashes of what was typed and on the address, before
    anything depends on whether an account exists (FR2, FU3). A limited request is recorded as
    already throttled and answered exactly like any other.
    """
    action, event = _ACTIONS[kind]
    limited = ratelimit.hit(action, account=normalized, ip=client.ip)
    now = clock.now()
    request = RecoveryRequest.objects.create(
        kind=kind, identifier="" if limited else typed.strip()[:254],
        identifier_digest=identifier_digest(normalized), language=client.language,
        ip=client.ip, user_agent=client.user_agent, created_at=now,
        processed_at=now if limited else None,
        outcome=RequestOutcome.THROTTLED if limited else RequestOutcome.PENDING,
    )
    event_record(event, outcome="throttled" if limited else "accepted", actor="anonymous",
                 client=client, subject=f"request:{request.pk}", rules=limited)
    worker_wake()  # for throttled requests too: the same work whatever the outcome
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
