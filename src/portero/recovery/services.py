"""Recording what someone asked for, the same way for every recovery form."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from portero.accounts.models import User
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock, ratelimit, security_log
from portero.core.client import ClientInfo
from portero.mail.models import EmailKind, EmailStatus, OutboundEmail
from portero.mail.services import email_new, email_queue
from portero.recovery.issuing import Issue
from portero.recovery.models import (
    PasswordReset,
    RecoveryRequest,
    RequestKind,
    RequestOutcome,
    ResetPurpose,
)
from portero.recovery.tokens import identifier_digest, new_selector

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
def recovery_request_record(
    *, kind: RequestKind, typed: str, normalized: str, client: ClientInfo
) -> RecoveryRequest:
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
        kind=kind,
        identifier="" if limited else typed.strip()[:254],
        identifier_digest=identifier_digest(normalized),
        language=client.language,
        ip=client.ip,
        user_agent=client.user_agent,
        created_at=clock.now(),
        request_id=security_log.request_id.get(),
        limited_by=limited,
        outcome=RequestOutcome.THROTTLED if limited else RequestOutcome.PENDING,
    )
    security_log.emit(
        event.value,
        outcome=outcome,
        actor="anonymous",
        at=request.created_at,
        subject=f"request:{request.pk}",
        ip=client.ip,
        rules=limited,
    )
    return request


class RecoveryRefused(Exception):
    """No recovery e-mail can go to this account now; the message says why, for the agent."""


def reset_prepare(*, user: User, request: RecoveryRequest | None) -> Issue:
    """Return a reset valid for the configured lifetime and the e-mail that carries it, unsaved.

    Earlier resets stay valid (TK5: a new request never breaks an earlier e-mail).
    """
    created = request.created_at if request else clock.now()
    purpose = ResetPurpose.RESET if user.has_usable_password() else ResetPurpose.ACTIVATION
    reset = PasswordReset(
        user=user,
        request=request,
        purpose=purpose,
        selector=new_selector(),
        created_at=created,
        expires_at=created + timedelta(minutes=settings.PORTERO_RESET_TTL_MINUTES),
    )
    activation = purpose == ResetPurpose.ACTIVATION
    email = email_new(
        kind=EmailKind.ACCOUNT_ACTIVATION if activation else EmailKind.PASSWORD_RESET,
        to_address=user.email,
        user=user,
        reset=reset,
        # the owner's choice, else the page the request came from (help desk: the default)
        language=user.preferred_language(request.language if request else ""),
        give_up_at=reset.expires_at,  # a link that arrives dead is no use: retry until then
    )
    return Issue(EventType.RESET_ISSUED, user, email, reset, {"purpose": purpose})


def reset_issue(*, user: User) -> PasswordReset:
    """Create a reset and queue the e-mail that carries it, with its audit row (help desk);
    raise RecoveryRefused if the account cannot receive it."""
    _reachable_check(user)
    issue = reset_prepare(user=user, request=None)
    assert issue.reset is not None  # for typing: a reset issue always carries one
    issue.reset.save(force_insert=True)
    issue.email.reset = issue.reset
    issue.email.save(force_insert=True)
    event_record(
        EventType.RESET_ISSUED,
        user=user,
        subject=issue.subject,
        email=issue.email.pk,
        purpose=issue.details["purpose"],
    )
    return issue.reset


def username_reminder_queue(*, user: User, language: str) -> OutboundEmail:
    """Queue the reminder listing every username of `user`'s address, filed under `user`;
    raise RecoveryRefused if the account cannot receive it.

    It goes to the address as stored on the account, never as typed (FU3, FR4).
    """
    _reachable_check(user)
    return email_queue(
        kind=EmailKind.USERNAME_REMINDER, to_address=user.email, language=language, user=user
    )


def _reachable_check(user: User) -> None:
    """Refuse an account that is disabled or has no address to write to."""
    if not user.is_active:
        raise RecoveryRefused(_("The account is disabled; enable it first."))
    if not user.email:
        raise RecoveryRefused(_("The account has no e-mail address."))


@transaction.atomic
def recovery_history_purge() -> int:
    """Delete requests, dead resets and finished messages older than the retention period."""
    cutoff = clock.now() - timedelta(days=settings.PORTERO_RECOVERY_RETENTION_DAYS)
    finished = [EmailStatus.SENT, EmailStatus.FAILED, EmailStatus.CANCELLED]
    emails, _ = OutboundEmail.objects.filter(created_at__lt=cutoff, status__in=finished).delete()
    resets, _ = PasswordReset.objects.filter(expires_at__lt=cutoff).delete()
    requests, _ = RecoveryRequest.objects.filter(
        created_at__lt=cutoff, processed_at__isnull=False
    ).delete()
    return emails + resets + requests


def resets_cancel(*, user: Any) -> int:
    """End every outstanding recovery link of `user` now (the account is being disabled: a
    link sent before must not work again if it is enabled later); return how many."""
    now = clock.now()
    return PasswordReset.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
