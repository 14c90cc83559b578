"""The worker's side of recovery: turn pending requests into resets and queued e-mails.

A batch is read and prepared outside any transaction (the pending requests, their accounts in
one query per kind, the resets and e-mails to create), then written in one short transaction
of a fixed number of statements, whatever its size: claim the requests still pending, insert
the resets, the e-mails and the audit rows, update the requests. On SQLite that transaction
holds the database's only write lock, so its size follows `SIZER` (time as well as count).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DatabaseError, connection

from portero.accounts.models import User
from portero.audit.chain import appends_batched
from portero.audit.services import event_row_add
from portero.core import clock
from portero.core.write_lock import BatchSizer, write_transaction
from portero.recovery.flows.password_reset import accounts_by_username, process_password_request
from portero.recovery.flows.username_reminder import accounts_by_email, process_username_request
from portero.recovery.issuing import Issue, issues_log, issues_save
from portero.recovery.models import RecoveryRequest, RequestKind, RequestOutcome
from portero.recovery.services import EVENTS

log = logging.getLogger(__name__)

Handler = Callable[[RecoveryRequest, dict[str, User], list[Issue]], RequestOutcome]
HANDLERS: dict[str, Handler] = {
    RequestKind.PASSWORD: process_password_request,
    RequestKind.USERNAME: process_username_request,
}
LOOKUPS: dict[str, Callable[[list[RecoveryRequest]], dict[str, User]]] = {
    RequestKind.PASSWORD: accounts_by_username,
    RequestKind.USERNAME: accounts_by_email,
}
# One plain UPDATE per row, sent together: Django's bulk_update builds a CASE per field and
# row, which cost about 8 ms of CPU per row here, inside the write transaction.
_MARK_PROCESSED = (
    "UPDATE recovery_recoveryrequest SET processed_at = %s, outcome = %s, "
    "identifier = '', user_id = %s WHERE id = %s"
)

# As many requests per transaction as fit in about 10 ms on SQLite (about 4 ms whatever the
# batch, 0.3-0.5 ms a request, mostly the ORM building the inserts): about 15 requests here,
# and the web requests' INSERTs wait that long at most. On PostgreSQL nothing waits for it: up
# to 100.
SIZER = BatchSizer(budget=0.010, low=2, start=10, high=100)


@dataclass
class Prepared:
    """A request and what processing it adds to the write: its outcome and its issues."""

    request: RecoveryRequest
    issues: list[Issue] = field(default_factory=list)


def recovery_requests_process(*, limit: int | None = None) -> int:
    """Process one batch of pending requests, oldest first; return how many were processed.

    The batch holds `limit` requests, or as many as `SIZER` allows. If preparing or writing
    it fails, the batch is done again one request at a time, so one bad request cannot hold
    the others back.
    """
    pending = list(
        RecoveryRequest.objects.filter(processed_at__isnull=True).order_by("pk")[
            : limit or SIZER.size
        ]
    )
    if not pending:
        return 0
    try:
        return _batch_write(_batch_prepare(pending), rows=len(pending))
    except DatabaseError:
        raise  # the database itself: the worker retries after the poll interval
    except Exception:
        log.exception("a batch of recovery requests failed; processing them one at a time")
    done = 0
    for request in pending:  # read again: preparing changed the objects of the batch
        try:
            done += recovery_request_process(pk=request.pk)
        except DatabaseError:
            raise
        except Exception:
            log.exception("recovery request %s could not be processed", request.pk)
    return done


def recovery_request_process(*, pk: int) -> int:
    """Process one request exactly once, even with several workers; return 1 if this call did."""
    pending = list(RecoveryRequest.objects.filter(pk=pk, processed_at__isnull=True))
    return _batch_write(_batch_prepare(pending), rows=1) if pending else 0


def _batch_prepare(requests: list[RecoveryRequest]) -> list[Prepared]:
    """Decide each request's outcome and build what it issues, reading only (no transaction)."""
    accounts: dict[str, dict[str, User]] = {}
    for kind, lookup in LOOKUPS.items():
        of_kind = [r for r in requests if r.kind == kind and r.outcome == RequestOutcome.PENDING]
        accounts[kind] = lookup(of_kind) if of_kind else {}
    prepared = []
    for request in requests:
        item = Prepared(request)
        if request.outcome == RequestOutcome.PENDING:
            request.outcome = HANDLERS[request.kind](request, accounts[request.kind], item.issues)
        request.identifier = ""  # the digest is enough from now on (data minimisation)
        prepared.append(item)
    return prepared


def _batch_write(prepared: list[Prepared], *, rows: int) -> int:
    """Write a prepared batch in one short transaction; return how many requests it took.

    Requests another worker processed meanwhile are left out (on PostgreSQL, SKIP LOCKED
    also skips those another worker is writing right now; SQLite has one writer at a time,
    and its transactions start IMMEDIATE).
    """
    with write_transaction("recovery", SIZER, rows), appends_batched(sealed=True):
        now = clock.now()
        claimed = set(
            RecoveryRequest.objects.select_for_update(skip_locked=True)
            .filter(pk__in=[p.request.pk for p in prepared], processed_at__isnull=True)
            .values_list("pk", flat=True)
        )
        mine = [p for p in prepared if p.request.pk in claimed]
        _audit_rows_add(mine)
        issues = [issue for p in mine for issue in p.issues]
        issues_save(issues)
        _requests_mark_processed([p.request for p in mine], now)
    issues_log(issues)
    return len(mine)


def _requests_mark_processed(requests: list[RecoveryRequest], now: datetime) -> None:
    """Record each request's outcome and account, forget what was typed (data minimisation)."""
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:  # one round trip (psycopg pipelines executemany)
        cursor.executemany(_MARK_PROCESSED, [(at, r.outcome, r.user_id, r.pk) for r in requests])
    for request in requests:
        request.processed_at = now


def _audit_rows_add(prepared: list[Prepared]) -> None:
    """Add each request's own audit row (its log line was written by the web request)."""
    for item in prepared:
        request = item.request
        event_row_add(
            EVENTS[RequestKind(request.kind)],
            at=request.created_at,
            request_id=request.request_id,
            ip=request.ip,
            actor="anonymous",
            subject=f"request:{request.pk}",
            outcome=("throttled" if request.outcome == RequestOutcome.THROTTLED else "accepted"),
            rules=request.limited_by,
        )
