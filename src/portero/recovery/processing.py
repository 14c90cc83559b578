"""The worker's side of recovery: turn pending requests into resets and queued e-mails."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import DatabaseError, transaction

from portero.audit.chain import appends_batched
from portero.audit.services import event_keep
from portero.core import clock
from portero.recovery.flows.password_reset import process_password_request
from portero.recovery.flows.username_reminder import process_username_request
from portero.recovery.models import RecoveryRequest, RequestKind, RequestOutcome
from portero.recovery.services import EVENTS

log = logging.getLogger(__name__)

HANDLERS: dict[str, Callable[[RecoveryRequest], RequestOutcome]] = {
    RequestKind.PASSWORD: process_password_request,
    RequestKind.USERNAME: process_username_request,
}
_FIELDS = ["processed_at", "outcome", "identifier", "user"]


def recovery_requests_process(*, limit: int = 100) -> int:
    """Process up to `limit` pending requests, oldest first; return how many were processed.

    One transaction for the whole batch (one lock on the audit chain, one update of the
    requests). If something in it fails, the batch is done again one request at a time, so
    one bad request cannot hold the others back.
    """
    try:
        return _batch_process(limit)
    except DatabaseError:
        raise  # the database itself: the worker retries after the poll interval
    except Exception:
        log.exception("a batch of recovery requests failed; processing them one at a time")
    done = 0
    pending = RecoveryRequest.objects.filter(processed_at__isnull=True).order_by("pk")
    for pk in pending.values_list("pk", flat=True)[:limit]:
        try:
            done += recovery_request_process(pk=pk)
        except DatabaseError:
            raise
        except Exception:
            log.exception("recovery request %s could not be processed", pk)
    return done


def _batch_process(limit: int) -> int:
    with transaction.atomic(), appends_batched(sealed=True):
        # SKIP LOCKED: several workers take disjoint batches (PostgreSQL); SQLite has a single
        # writer at a time anyway (transactions start IMMEDIATE).
        batch = list(RecoveryRequest.objects.select_for_update(skip_locked=True)
                     .filter(processed_at__isnull=True).order_by("pk")[:limit])
        now = clock.now()
        for request in batch:
            _handle(request, now)
        RecoveryRequest.objects.bulk_update(batch, _FIELDS)
    return len(batch)


@transaction.atomic
def recovery_request_process(*, pk: int) -> int:
    """Process one request exactly once, even with several workers; return 1 if this call did."""
    request = (RecoveryRequest.objects.select_for_update()
               .filter(pk=pk, processed_at__isnull=True).first())
    if request is None:  # another worker has done it
        return 0
    _handle(request, clock.now())
    request.save(update_fields=_FIELDS)
    return 1


def _handle(request: RecoveryRequest, now: datetime) -> None:
    """Write the request's audit row, then act on it unless it was throttled."""
    event_keep(EVENTS[RequestKind(request.kind)], at=request.created_at,
               request_id=request.request_id, ip=request.ip, actor="anonymous",
               subject=f"request:{request.pk}",
               outcome="throttled" if request.outcome == RequestOutcome.THROTTLED else "accepted",
               rules=request.limited_by)
    if request.outcome == RequestOutcome.PENDING:
        request.outcome = HANDLERS[request.kind](request)
    request.processed_at = now
    request.identifier = ""  # the digest is enough from now on (data minimisation)
