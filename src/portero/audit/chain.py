"""Hash chaining of audit events: one INSERT per write, sealing by the worker, verification,
purge that keeps the proof.

Each row's hash is an HMAC under the audit key (portero.audit.keys), which lives in a file, not
in the database: someone who can write the database can delete or edit rows but cannot make
the hashes agree again. Deleting the newest rows and moving the head back leaves a valid but
shorter chain; the checkpoints (portero.audit.checkpoints), kept outside the database, catch it.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from portero.audit.keys import AuditKeys, audit_keys
from portero.audit.models import AuditChain, AuditEvent
from portero.core.write_lock import BatchSizer, write_transaction

log = logging.getLogger(__name__)

GENESIS = "0" * 64

# Events waiting for the end of an `appends_batched()` block, or None outside one.
_pending: contextvars.ContextVar[list[AuditEvent] | None] = contextvars.ContextVar(
    "portero_audit_pending", default=None
)


class HeadMissing(Exception):
    """The chain's head row is gone while sealed rows remain: nothing is sealed until an
    operator has looked (docs/operations.md, "The audit trail")."""


def keys() -> AuditKeys:
    """Return the audit keys of PORTERO_AUDIT_KEY_FILE (read again after a rotation)."""
    return audit_keys(settings.PORTERO_AUDIT_KEY_FILE)


def _canonical(event: AuditEvent, prev_hash: str) -> str:
    fields = [
        event.created_at.isoformat(),
        event.event,
        event.outcome,
        event.actor,
        event.user_id,
        event.subject,
        event.ip,
        event.request_id,
        event.details,
    ]
    return f"{prev_hash}|{json.dumps(fields, sort_keys=True, separators=(',', ':'), default=str)}"


def row_digest(event: AuditEvent, prev_hash: str, *, ring: AuditKeys | None = None) -> str:
    """Return the HMAC of `prev_hash` and the event's fields in a canonical form, under the key
    the row names (the current key for a row being sealed), or plain SHA-256 for a row sealed
    before the chain was keyed.

    Neither the row's id nor its place (`seq`) is part of it: the order is proven by each row
    naming its predecessor's hash.
    """
    if not event.key_id:
        return hashlib.sha256(_canonical(event, prev_hash).encode()).hexdigest()
    return (ring or keys()).mac(_canonical(event, prev_hash), event.key_id)


def chain_head_locked() -> AuditChain:
    """Return the chain's head row, locked until the transaction ends (serialises sealers).

    A migration creates the row. It is made again only when no sealed row exists (the table
    was emptied); with sealed rows left, its loss is tampering until shown otherwise, so
    HeadMissing is raised and `portero audit verify` fails.
    """
    head = AuditChain.objects.select_for_update().filter(pk=1).first()
    if head is None:
        if AuditEvent.objects.filter(seq__isnull=False).exists():
            raise HeadMissing("the audit chain's head row is missing while sealed rows remain")
        AuditChain.objects.get_or_create(pk=1)
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
        try:
            head = chain_head_locked()
        except HeadMissing:  # the rows are kept, unsealed: the work they report goes on
            log.error(
                "the audit chain's head row is missing: rows are written unsealed "
                "until `portero audit verify` has been run and the head restored"
            )
            AuditEvent.objects.bulk_create(events)
            return
        head.head_seq, head.head_hash = _chain(events, head.head_seq, head.head_hash)
        AuditEvent.objects.bulk_create(events)
        head.save(update_fields=["head_seq", "head_hash"])


def _chain(events: list[AuditEvent], seq: int, prev_hash: str) -> tuple[int, str]:
    """Give `events` the places after (seq, prev_hash), sealed with the current key; return
    the new head's."""
    prev_hash, ring = prev_hash or GENESIS, keys()
    for event in events:
        seq += 1
        event.seq, event.prev_hash, event.key_id = seq, prev_hash, ring.current_id
        event.row_hash = prev_hash = row_digest(event, prev_hash, ring=ring)
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
_SEAL = (
    "UPDATE audit_auditevent SET seq = %s, prev_hash = %s, row_hash = %s, key_id = %s WHERE id = %s"
)


# Rows sealed per transaction: as many as fit in about 10 ms on SQLite (where the transaction
# holds the database's write lock), up to 1,000.
SEAL_SIZER = BatchSizer(budget=0.010, low=10, start=100, high=1000)


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
        events = list(unsealed.order_by("pk")[: limit or SEAL_SIZER.size])
        if not events:
            return 0
        written.rows = len(events)
        seq, prev_hash = _chain(events, head.head_seq, head.head_hash)
        with connection.cursor() as cursor:  # one round trip (psycopg pipelines executemany)
            cursor.executemany(
                _SEAL, [(e.seq, e.prev_hash, e.row_hash, e.key_id, e.pk) for e in events]
            )
        head.head_seq, head.head_hash = seq, prev_hash
        head.save(update_fields=["head_seq", "head_hash"])
    return len(events)


@transaction.atomic
def chain_purge_before(cutoff: datetime) -> int:
    """Delete the oldest sealed rows created before `cutoff`, keeping the chain verifiable."""
    head = chain_head_locked()
    last = (
        AuditEvent.objects.filter(seq__isnull=False, created_at__lt=cutoff).order_by("-seq").first()
    )
    if last is None or last.seq is None:  # sealed rows only; the second test is for typing
        return 0
    deleted, _ = AuditEvent.objects.filter(seq__lte=last.seq).delete()
    head.anchor_seq, head.anchor_hash = last.seq, last.row_hash
    # Tagged with the key: an anchor set by anyone else is refused by `chain_verify`.
    head.anchor_tag = keys().tag("anchor", last.seq, last.row_hash)
    head.save(update_fields=["anchor_seq", "anchor_hash", "anchor_tag"])
    return deleted
