"""Hash chaining of audit events: one INSERT per write, sealing by the worker, verification,
purge that keeps the proof."""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Subquery

from portero.audit.models import AuditChain, AuditEvent
from portero.core.write_lock import BatchSizer, write_transaction

log = logging.getLogger(__name__)

GENESIS = "0" * 64

# Events waiting for the end of an `appends_batched()` block, or None outside one.
_pending: contextvars.ContextVar[list[AuditEvent] | None] = contextvars.ContextVar(
    "portero_audit_pending", default=None)


def row_digest(event: AuditEvent, prev_hash: str) -> str:
    """Return the SHA-256 of `prev_hash` and the event's fields in a canonical form.

    Neither the row's id nor its place (`seq`) is part of it: the order is proven by each row
    naming its predecessor's hash.
    """
    fields = [
        event.created_at.isoformat(), event.event, event.outcome, event.actor,
        event.user_id, event.subject, event.ip, event.request_id, event.details,
    ]
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}|{canonical}".encode()).hexdigest()


def chain_head_locked() -> AuditChain:
    """Return the chain's head row, locked until the transaction ends (serialises sealers).

    A migration creates the row; it is made again only if something emptied the table.
    """
    head = AuditChain.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # Continue after the newest sealed row, so new rows never collide with its place.
        newest = AuditEvent.objects.filter(seq__isnull=False).order_by("-seq").first()
        seq, row_hash = (newest.seq or 0, newest.row_hash) if newest else (0, "")
        log.warning("the audit chain's head row was missing; made again after seq %s", seq)
        AuditChain.objects.get_or_create(pk=1, defaults={"head_seq": seq, "head_hash": row_hash})
        head = AuditChain.objects.select_for_update().get(pk=1)
    return head


def event_append(event: AuditEvent) -> AuditEvent:
    """Write `event` now (sealed into the chain later), or at the end of the open batch."""
    pending = _pending.get()
    if pending is not None:
        pending.append(event)
    else:
        events_append([event])
    return event


def events_append(events: list[AuditEvent]) -> None:
    """Write `events` in one INSERT, in the caller's transaction; `chain_seal` chains them.

    No lock is taken: concurrent writers never wait for each other, and a row becomes part
    of the chain at the start of the worker's next round.
    """
    if events:
        AuditEvent.objects.bulk_create(events)


def events_append_sealed(events: list[AuditEvent]) -> None:
    """Chain `events` after the head and write them, sealed, in one INSERT.

    For the worker's batches: one lock per batch costs less than sealing the rows afterwards
    (an UPDATE of each). The lock is held until the caller's transaction ends.
    """
    if not events:
        return
    with transaction.atomic(savepoint=False):
        head = chain_head_locked()
        head.head_seq, head.head_hash = _chain(events, head.head_seq, head.head_hash)
        AuditEvent.objects.bulk_create(events)
        head.save(update_fields=["head_seq", "head_hash"])


def _chain(events: list[AuditEvent], seq: int, prev_hash: str) -> tuple[int, str]:
    """Give `events` the places after (seq, prev_hash); return the new head's."""
    prev_hash = prev_hash or GENESIS
    for event in events:
        seq += 1
        event.seq, event.prev_hash = seq, prev_hash
        event.row_hash = prev_hash = row_digest(event, prev_hash)
    return seq, prev_hash


@contextmanager
def appends_batched(*, sealed: bool = False) -> Iterator[list[AuditEvent]]:
    """Hold the events appended inside the block and write them in one INSERT when it ends,
    chained at once if `sealed` (the worker's batches), else left for `chain_seal`.

    Use inside the transaction of the changes they report. On an exception nothing is
    written (the transaction rolls back anyway).
    """
    if _pending.get() is not None:  # already batching: the outer block writes them
        yield _pending.get() or []
        return
    pending: list[AuditEvent] = []
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)
    (events_append_sealed if sealed else events_append)(pending)


# One plain UPDATE per row: Django's bulk_update builds a CASE per field and row, which costs
# more than the sealing it records.
_SEAL = "UPDATE audit_auditevent SET seq = %s, prev_hash = %s, row_hash = %s WHERE id = %s"


# Rows sealed per transaction: as many as take about 5 ms on SQLite (where the transaction
# holds the database's write lock), up to 1,000.
SEAL_SIZER = BatchSizer(budget=0.005, low=10, start=100, high=1000)


def chain_seal(limit: int | None = None) -> int:
    """Chain up to `limit` (default: `SEAL_SIZER`) unsealed rows after the head, oldest first;
    return how many.

    Rows are sealed in the order they became visible, so a row whose transaction committed
    late simply takes the next place: `seq`, not the id, is the chain's order.
    """
    unsealed = AuditEvent.objects.filter(seq__isnull=True)
    if not unsealed.exists():  # an idle round opens no transaction (no write lock on SQLite)
        return 0
    with write_transaction("audit_seal", SEAL_SIZER) as written:
        head = chain_head_locked()
        events = list(unsealed.order_by("pk")[:limit or SEAL_SIZER.size])
        if not events:
            return 0
        written.rows = len(events)
        seq, prev_hash = _chain(events, head.head_seq, head.head_hash)
        with connection.cursor() as cursor:  # one round trip (psycopg pipelines executemany)
            cursor.executemany(_SEAL, [(e.seq, e.prev_hash, e.row_hash, e.pk) for e in events])
        head.head_seq, head.head_hash = seq, prev_hash
        head.save(update_fields=["head_seq", "head_hash"])
    return len(events)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""
    unsealed: int = 0  # rows written but not chained yet
    oldest_unsealed: datetime | None = None


def _sealed_rows(up_to: int, chunk: int = 2000) -> Iterator[AuditEvent]:
    last = -1
    while True:
        batch = list(AuditEvent.objects.filter(seq__gt=last, seq__lte=up_to)
                     .order_by("seq")[:chunk])
        if not batch:
            return
        yield from batch
        last = batch[-1].seq or 0


def chain_verify() -> Verdict:
    """Check every sealed row against its predecessor and the recorded head; count the rest.

    Only the rows up to the head read at the start are checked: the worker may seal more
    while this runs, and those are for the next check.
    """
    head = AuditChain.objects.filter(pk=1).first() or AuditChain(pk=1)
    expected_prev = head.anchor_hash or GENESIS
    checked, last_seq, last_hash = 0, head.anchor_seq, head.anchor_hash
    for event in _sealed_rows(up_to=head.head_seq):
        if event.prev_hash != expected_prev:
            return Verdict(False, checked, event.pk, "does not follow the previous row "
                                                     "(a row before it was changed or removed)")
        if row_digest(event, event.prev_hash) != event.row_hash:
            return Verdict(False, checked, event.pk, "its contents were changed")
        expected_prev, last_seq, last_hash = event.row_hash, event.seq or 0, event.row_hash
        checked += 1
    if ((head.head_seq or head.head_hash)
            and (last_seq, last_hash) != (head.head_seq, head.head_hash)):
        return Verdict(False, checked, None, "the newest rows were removed")
    # One statement compares with the head as it is now: sealing moves both together.
    current_head = AuditChain.objects.filter(pk=1).values("head_seq")[:1]
    stray = (AuditEvent.objects.filter(seq__gt=Subquery(current_head)).order_by("seq")
             .values_list("pk", flat=True).first())
    if stray is not None:
        return Verdict(False, checked, stray, "is placed after the chain's head (a row added "
                                              "or moved outside Portero)")
    unsealed = AuditEvent.objects.filter(seq__isnull=True)
    oldest = unsealed.order_by("pk").values_list("created_at", flat=True).first()
    return Verdict(True, checked, unsealed=unsealed.count(), oldest_unsealed=oldest)


@transaction.atomic
def chain_purge_before(cutoff: datetime) -> int:
    """Delete the oldest sealed rows created before `cutoff`, keeping the chain verifiable."""
    head = chain_head_locked()
    last = (AuditEvent.objects.filter(seq__isnull=False, created_at__lt=cutoff)
            .order_by("-seq").first())
    if last is None or last.seq is None:  # sealed rows only; the second test is for typing
        return 0
    deleted, _ = AuditEvent.objects.filter(seq__lte=last.seq).delete()
    head.anchor_seq, head.anchor_hash = last.seq, last.row_hash
    head.save(update_fields=["anchor_seq", "anchor_hash"])
    return deleted
