"""Send due outbox messages over SMTP; retry what may pass later, keep what failed visible.

A message is claimed with a lease before sending, and its outcome is recorded as soon as the
SMTP server has answered. If a worker dies between the server's "250" and that record, the lease
runs out and another attempt sends that one message again, with the same Message-ID: a rare
duplicate that receivers can recognise, never a loss (see docs/mail.md).
"""

from __future__ import annotations

import logging
import random
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import F, Q

from portero.audit.chain import appends_batched
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock
from portero.core.write_lock import write_transaction
from portero.mail.composing import NotNeeded
from portero.mail.models import EmailStatus, OutboundEmail
from portero.mail.rendering import message_id_new, render_email
from portero.mail.smtp import EmailBackend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendFailure:
    transient: bool
    reason: str


def classify_failure(exc: BaseException) -> SendFailure:
    """Tell a failure worth retrying (4xx, network, server setup) from a final one (5xx)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = list(exc.recipients.values())
        code, text = replies[0] if replies else (0, b"")
        return SendFailure(any(400 <= c < 500 for c, _ in replies), _reply(code, text))
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # Credentials are the operator's to fix; the messages should go once they are.
        return SendFailure(True, _reply(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, smtplib.SMTPResponseException):
        return SendFailure(400 <= exc.smtp_code < 500, _reply(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, ImproperlyConfigured):
        # The DKIM key file went missing or bad after start-up: the operator's to fix, and
        # the messages should go, signed, once it is.
        return SendFailure(True, str(exc)[:500])
    if isinstance(exc, smtplib.SMTPException | OSError):
        return SendFailure(True, f"{type(exc).__name__}: {exc}"[:500])
    return SendFailure(False, f"{type(exc).__name__}: {exc}"[:500])


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()[:500]


def retry_delay(attempts: int) -> timedelta:
    """Return the wait before attempt `attempts + 1`: exponential, capped, with 10% jitter."""
    base = settings.PORTERO_MAIL_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    seconds = min(base, settings.PORTERO_MAIL_RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.9, 1.1))


def emails_claim_due(*, now: datetime, limit: int) -> list[OutboundEmail]:
    """Take up to `limit` due messages for sending, each with a lease; skip others' rows.

    Due: queued or retrying and their time has come, or "sending" with a lease run out (the
    worker sending them died). The candidates and their details are read outside the write
    transaction, which only claims those still due (SKIP LOCKED, on PostgreSQL, skips the rows
    another worker is claiming right now; SQLite has one writer at a time) in two statements.
    A message gets its Message-ID right before its first attempt (`_lease_renew`) and keeps
    it for every later one.
    """
    lease_until = now + timedelta(seconds=settings.PORTERO_MAIL_LEASE_SECONDS)
    due = _due(now)
    candidates = list(OutboundEmail.objects.filter(due).order_by("next_attempt_at", "pk")
                      .values_list("pk", flat=True)[:limit])
    if not candidates:  # an idle round opens no transaction (no write lock on SQLite)
        return []
    with write_transaction("mail_claim"):
        claimed = list(OutboundEmail.objects.select_for_update(skip_locked=True)
                       .filter(due, pk__in=candidates).values_list("pk", flat=True))
        OutboundEmail.objects.filter(pk__in=claimed).update(
            status=EmailStatus.SENDING, lease_until=lease_until, attempts=F("attempts") + 1)
    return list(OutboundEmail.objects.select_related("reset__user", "user")
                .filter(pk__in=claimed, lease_until=lease_until)
                .order_by("next_attempt_at", "pk"))


def _due(now: datetime) -> Q:
    waiting = Q(status__in=[EmailStatus.QUEUED, EmailStatus.RETRYING], next_attempt_at__lte=now)
    abandoned = Q(status=EmailStatus.SENDING, lease_until__lt=now)
    return waiting | abandoned


_EVENTS = {
    EmailStatus.SENT: EventType.MAIL_SENT,
    EmailStatus.RETRYING: EventType.MAIL_RETRYING,
    EmailStatus.FAILED: EventType.MAIL_FAILED,
    EmailStatus.CANCELLED: EventType.MAIL_CANCELLED,
}


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed message, to be recorded on its row."""

    email: OutboundEmail
    status: EmailStatus
    changes: dict[str, object]


def _finish(outcome: Outcome) -> None:
    """Record the outcome and its audit row, unless another worker took the message over
    meanwhile (its lease ran out): then the row and the trail are that worker's to write."""
    email, status, changes = outcome.email, outcome.status, outcome.changes
    if not OutboundEmail.objects.filter(pk=email.pk, lease_until=email.lease_until).update(
            lease_until=None, status=status, **changes):
        log.warning("mail %s: lease lost before its outcome was recorded", email.pk)
        return
    event_record(_EVENTS[status], outcome=status, user=email.user, subject=f"email:{email.pk}",
                 kind=email.kind, attempts=email.attempts,
                 reply=str(changes.get("smtp_reply") or changes.get("last_error") or ""))


def _lease_renew(email: OutboundEmail) -> bool:
    """Extend this worker's lease on `email` right before sending it; False if the lease ran
    out and another worker took the message (a slow batch must not be sent twice)."""
    fresh = clock.now() + timedelta(seconds=settings.PORTERO_MAIL_LEASE_SECONDS)
    changes: dict[str, object] = {"lease_until": fresh}
    if not email.message_id:  # the first attempt: the ID every later one reuses
        changes["message_id"] = message_id_new()
    if not OutboundEmail.objects.filter(pk=email.pk, lease_until=email.lease_until).update(
            **changes):
        return False
    email.lease_until = fresh
    email.message_id = str(changes.get("message_id", email.message_id))
    return True


def outcome_record(outcome: Outcome) -> None:
    """Record one outcome and its audit row in one transaction.

    The row is left for the worker's next round to seal into the chain (in one statement for
    all), as web requests' rows are: taking the chain's lock for each message would cost a
    quarter more time per message and make workers queue for one another.
    """
    with write_transaction("mail_outcome"), appends_batched(sealed=False):
        _finish(outcome)


def email_deliver(*, email: OutboundEmail, connection: EmailBackend) -> Outcome:
    """Send one claimed message; return what happened (see `outcome_record`)."""
    now = clock.now()
    try:
        message = render_email(email)
    except NotNeeded as reason:
        return Outcome(email, EmailStatus.CANCELLED, {"last_error": str(reason)[:500]})
    except Exception as exc:  # a broken template must not leave the row stuck in "sending"
        log.exception("mail %s could not be rendered", email.pk)
        return Outcome(email, EmailStatus.FAILED, {"last_error": f"rendering: {exc}"[:500]})
    try:
        connection.open()
        connection.send_messages([message])
    except Exception as exc:  # anything the network or server does must end up on the row
        connection.close()
        return _failure_outcome(email, classify_failure(exc), now)
    return Outcome(email, EmailStatus.SENT, {
        "sent_at": clock.now(), "last_error": "", "smtp_reply": connection.last_reply})


def _failure_outcome(email: OutboundEmail, failure: SendFailure, now: datetime) -> Outcome:
    next_attempt = now + retry_delay(email.attempts)
    if failure.transient and next_attempt < email.give_up_at:
        log.warning("mail %s attempt %s failed, will retry: %s", email.pk, email.attempts,
                    failure.reason)
        return Outcome(email, EmailStatus.RETRYING,
                       {"next_attempt_at": next_attempt, "last_error": failure.reason})
    log.error("mail %s failed after %s attempts: %s", email.pk, email.attempts, failure.reason)
    return Outcome(email, EmailStatus.FAILED, {"last_error": failure.reason})


def emails_deliver_due(*, connection: EmailBackend, limit: int = 50) -> int:
    """Send every due message (up to `limit`) over one connection; return how many were tried.

    Each outcome is recorded before the next message goes, so a worker that dies leaves at
    most one message sent but not recorded: the only one sent twice, under the same Message-ID.
    """
    emails = emails_claim_due(now=clock.now(), limit=limit)
    for email in emails:
        if _lease_renew(email):
            outcome_record(email_deliver(email=email, connection=connection))
    return len(emails)
