"""Send due outbox messages over SMTP; retry what may pass later, keep what failed visible.

A message is claimed with a lease, and gets its Message-ID when it is first claimed. A message
the SMTP server accepted is recorded as sent before the next one goes. If a worker dies between
the server's "250" and that record, the lease runs out and another attempt sends that one message
again, with the same Message-ID: a rare duplicate that receivers can recognise, never a loss
(see docs/mail.md). The outcomes of messages that did not go (retrying, failed, not needed any
more) wait and are recorded together with the next sent one, or at the end of the batch: a
crash that loses them only has those messages tried again, and none of them was sent.
"""

from __future__ import annotations

import logging
import random
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection as database
from django.db.models import F, Q

from portero.audit.chain import appends_batched
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock
from portero.core.write_lock import BatchSizer, write_transaction
from portero.mail.composing import NotNeeded
from portero.mail.models import EmailStatus, OutboundEmail
from portero.mail.rendering import message_id_new, render_email
from portero.mail.smtp import EmailBackend

log = logging.getLogger(__name__)

# Outcomes recorded per transaction: as many as take about 5 ms on SQLite (where the
# transaction holds the database's write lock), up to 50 on PostgreSQL. Only messages that did
# not go wait to be recorded together (a sent one is recorded before the next goes), so a batch
# of more than one comes from a relay that refuses or cannot be reached.
SIZER = BatchSizer(budget=0.005, low=1, start=10, high=50)
# The first claim gives each message the Message-ID every attempt reuses; only where none is
# stored yet (another worker may have given it one meanwhile).
_GIVE_MESSAGE_ID = "UPDATE mail_outboundemail SET message_id = %s WHERE id = %s AND message_id = ''"


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
    another worker is claiming right now; SQLite has one writer at a time) and gives the ones
    claimed for the first time their Message-ID, which every later attempt reuses.
    """
    lease_until = now + timedelta(seconds=settings.PORTERO_MAIL_LEASE_SECONDS)
    due = _due(now)
    candidates = dict(
        OutboundEmail.objects.filter(due)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "message_id")[:limit]
    )
    if not candidates:  # an idle round opens no transaction (no write lock on SQLite)
        return []
    first_time = {pk: message_id_new() for pk, known in candidates.items() if not known}
    with write_transaction("mail_claim"):
        claimed = list(
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(due, pk__in=candidates)
            .values_list("pk", flat=True)
        )
        OutboundEmail.objects.filter(pk__in=claimed).update(
            status=EmailStatus.SENDING, lease_until=lease_until, attempts=F("attempts") + 1
        )
        _message_ids_give({pk: first_time[pk] for pk in claimed if pk in first_time})
    return list(
        OutboundEmail.objects.select_related("reset__user", "user")
        .filter(pk__in=claimed, lease_until=lease_until)
        .order_by("next_attempt_at", "pk")
    )


def _message_ids_give(ids: dict[int, str]) -> None:
    if ids:
        with database.cursor() as cursor:  # one round trip (psycopg pipelines executemany)
            cursor.executemany(_GIVE_MESSAGE_ID, [(mid, pk) for pk, mid in ids.items()])


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
        lease_until=None, status=status, **changes
    ):
        log.warning("mail %s: lease lost before its outcome was recorded", email.pk)
        return
    event_record(
        _EVENTS[status],
        outcome=status,
        user=email.user,
        subject=f"email:{email.pk}",
        kind=email.kind,
        attempts=email.attempts,
        reply=str(changes.get("smtp_reply") or changes.get("last_error") or ""),
    )


# The longest an SMTP exchange may take, in EMAIL_TIMEOUTs: each of connect, EHLO, STARTTLS,
# AUTH, MAIL, RCPT and DATA may wait that long for the server.
EXCHANGE_TIMEOUTS = 7


def _lease_short(email: OutboundEmail) -> bool:
    """Return True if what is left of this worker's lease on `email` might not cover one
    more SMTP exchange: less than half the lease, or than EXCHANGE_TIMEOUTS x EMAIL_TIMEOUT.

    With the defaults (a 120 s lease, a 10 s timeout) a message is begun with at least 70 s
    ahead, so a batch sent within 50 s writes nothing for its leases; a lease shorter than the
    exchange's bound is renewed before every message, as it always was.
    """
    lease = timedelta(seconds=settings.PORTERO_MAIL_LEASE_SECONDS)
    exchange = timedelta(seconds=EXCHANGE_TIMEOUTS * (settings.EMAIL_TIMEOUT or 0))
    ahead = max(lease / 2, min(lease, exchange))
    return email.lease_until is None or email.lease_until - clock.now() < ahead


def _lease_renew(email: OutboundEmail) -> bool:
    """Extend this worker's lease on `email`; False if the lease ran out and another worker
    took the message (a slow batch must not be sent twice)."""
    fresh = clock.now() + timedelta(seconds=settings.PORTERO_MAIL_LEASE_SECONDS)
    if not OutboundEmail.objects.filter(pk=email.pk, lease_until=email.lease_until).update(
        lease_until=fresh
    ):
        return False
    email.lease_until = fresh
    return True


def outcomes_record(outcomes: list[Outcome]) -> None:
    """Record outcomes and their audit rows, in as few transactions as `SIZER` allows.

    The audit rows are left for the worker's next round to seal into the chain (in one
    statement for all), as web requests' rows are: taking the chain's lock for each message
    would cost a quarter more time per message and make workers queue for one another.
    """
    while outcomes:
        size = SIZER.size
        batch, outcomes = outcomes[:size], outcomes[size:]
        with write_transaction("mail_outcome", SIZER, len(batch)), appends_batched(sealed=False):
            for outcome in batch:
                _finish(outcome)


def email_deliver(*, email: OutboundEmail, connection: EmailBackend) -> Outcome:
    """Send one claimed message; return what happened (see `outcomes_record`)."""
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
    return Outcome(
        email,
        EmailStatus.SENT,
        {"sent_at": clock.now(), "last_error": "", "smtp_reply": connection.last_reply},
    )


def _failure_outcome(email: OutboundEmail, failure: SendFailure, now: datetime) -> Outcome:
    next_attempt = now + retry_delay(email.attempts)
    if failure.transient and next_attempt < email.give_up_at:
        log.warning(
            "mail %s attempt %s failed, will retry: %s", email.pk, email.attempts, failure.reason
        )
        return Outcome(
            email,
            EmailStatus.RETRYING,
            {"next_attempt_at": next_attempt, "last_error": failure.reason},
        )
    log.error("mail %s failed after %s attempts: %s", email.pk, email.attempts, failure.reason)
    return Outcome(email, EmailStatus.FAILED, {"last_error": failure.reason})


def emails_deliver_due(*, connection: EmailBackend, limit: int = 50) -> int:
    """Claim due messages (up to `limit`) and send them over one connection; return how many
    were tried."""
    emails = emails_claim_due(now=clock.now(), limit=limit)
    emails_deliver(emails=emails, connection=connection)
    return len(emails)


def emails_deliver(*, emails: list[OutboundEmail], connection: EmailBackend) -> None:
    """Send claimed messages in turn, recording each sent one before the next goes.

    That record is one short transaction, which also takes the outcomes waiting before it
    (messages that did not go); so a worker that dies leaves at most one message sent but not
    recorded: the only one sent twice, under the same Message-ID.
    """
    waiting: list[Outcome] = []
    try:
        for email in emails:
            if _lease_short(email):  # a slow batch: what waits is recorded while it is ours
                outcomes_record(waiting)
                waiting = []
                if not _lease_renew(email):
                    continue
            outcome = email_deliver(email=email, connection=connection)
            waiting.append(outcome)
            if outcome.status == EmailStatus.SENT:
                outcomes_record(waiting)
                waiting = []
    except Exception:
        raise  # the database failed: what waits is tried again once its lease ends
    except BaseException:
        outcomes_record(waiting)  # a stop asked for before the next message: the batch ends
        raise
    outcomes_record(waiting)
