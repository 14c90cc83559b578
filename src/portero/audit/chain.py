"""Hash chaining of audit events: sealing on write, verification, purge that keeps the proof."""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from portero.audit.models import AuditChain, AuditEvent

GENESIS = "0" * 64

# Events waiting for the end of an `appends_batched()` block, or None outside one.
_pending: contextvars.ContextVar[list[AuditEvent] | None] = contextvars.ContextVar(
    "portero_audit_pending", default=None)


def row_digest(event: AuditEvent, prev_hash: str) -> str:
    """Return the SHA-256 of `prev_hash` and the event's fields in a canonical form.

    The row's id is not part of it: the hash is known before the insert, so a row is written
    once, and the order is already proven by each row naming its predecessor's hash.
    """
    fields = [
        event.created_at.isoformat(), event.event, event.outcome, event.actor,
        event.user_id, event.subject, event.ip, event.request_id, event.details,
    ]
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}|{canonical}".encode()).hexdigest()


def chain_head_locked() -> AuditChain:
    """Return the chain's head row, locked until the transaction ends (serialises writers).

    A migration creates the row; it is made again only if something emptied the table.
    """
    head = AuditChain.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChain.objects.get_or_create(pk=1)
        head = AuditChain.objects.select_for_update().get(pk=1)
    return head


def event_append(event: AuditEvent) -> AuditEvent:
    """Insert `event` at the end of the chain, or at the end of the open batch."""
    pending = _pending.get()
    if pending is not None:
        pending.append(event)
    else:
        events_append([event])
    return event


def events_append(events: list[AuditEvent]) -> None:
    """Insert `events`, in order, at the end of the chain: three statements for any number."""
    if not events:
        return
    # savepoint=False: part of the caller's transaction, which commits or rolls back with it.
    with transaction.atomic(savepoint=False):
        head = chain_head_locked()
        prev_hash = head.head_hash or GENESIS
        for event in events:
            event.prev_hash = prev_hash
            event.row_hash = prev_hash = row_digest(event, prev_hash)
        AuditEvent.objects.bulk_create(events)
        head.head_id, head.head_hash = events[-1].pk, events[-1].row_hash
        head.save(update_fields=["head_id", "head_hash"])


@contextmanager
def appends_batched() -> Iterator[list[AuditEvent]]:
    """Hold the events appended inside the block and chain them all when it ends.

    Use inside the transaction of the changes they report: the chain's head is then locked
    once, for a moment at the end, instead of once per event. On an exception nothing is
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
    events_append(pending)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""


def _rows(chunk: int = 2000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        batch = list(AuditEvent.objects.filter(pk__gt=last).order_by("pk")[:chunk])
        if not batch:
            return
        yield from batch
        last = batch[-1].pk


def chain_verify() -> Verdict:
    """Check every remaining row against its predecessor and the recorded head."""
    head = AuditChain.objects.filter(pk=1).first() or AuditChain(pk=1)
    expected_prev = head.anchor_hash or GENESIS
    checked, last_id, last_hash = 0, head.anchor_id, head.anchor_hash
    for event in _rows():
        if event.prev_hash != expected_prev:
            return Verdict(False, checked, event.pk, "does not follow the previous row "
                                                     "(a row before it was changed or removed)")
        if row_digest(event, event.prev_hash) != event.row_hash:
            return Verdict(False, checked, event.pk, "its contents were changed")
        expected_prev, last_id, last_hash = event.row_hash, event.pk, event.row_hash
        checked += 1
    if (head.head_id or head.head_hash) and (last_id, last_hash) != (head.head_id, head.head_hash):
        return Verdict(False, checked, head.head_id, "the newest rows were removed")
    return Verdict(True, checked)


@transaction.atomic
def chain_purge_before(cutoff: datetime) -> int:
    """Delete the oldest rows created before `cutoff`, keeping the chain verifiable."""
    head = chain_head_locked()
    last = (AuditEvent.objects.filter(created_at__lt=cutoff).order_by("-pk")
            .values_list("pk", "row_hash").first())
    if last is None:
        return 0
    deleted, _ = AuditEvent.objects.filter(pk__lte=last[0]).delete()
    head.anchor_id, head.anchor_hash = last
    head.save(update_fields=["anchor_id", "anchor_hash"])
    return deleted
