"""`portero audit verify`: check the keyed chain, its anchors, and the checkpoints kept
outside the database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Subquery

from portero.audit.chain import GENESIS, keys, row_digest
from portero.audit.checkpoints import Checkpoint
from portero.audit.keys import AuditKeys
from portero.audit.models import AuditChain, AuditEvent


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""
    unsealed: int = 0  # rows written but not chained yet
    oldest_unsealed: datetime | None = None
    rows_by_key: dict[str, int] = field(default_factory=dict)  # key id ("" = legacy): rows
    checkpoints: int = 0  # compared with a row still in the table
    latest_checkpoint: Checkpoint | None = None


class Broken(Exception):
    def __init__(self, reason: str, row_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.row_id = reason, row_id


def _sealed_rows(up_to: int, chunk: int = 2000) -> Iterator[AuditEvent]:
    last = -1
    while True:
        batch = list(
            AuditEvent.objects.filter(seq__gt=last, seq__lte=up_to).order_by("seq")[:chunk]
        )
        if not batch:
            return
        yield from batch
        last = batch[-1].seq or 0


def chain_verify(checkpoints: list[Checkpoint] | None = None) -> Verdict:
    """Check every sealed row against its predecessor, the key and the recorded head and
    anchors, then against `checkpoints` (read before this is called); count the rest.

    Only the rows up to the head read at the start are checked: the worker may seal more
    while this runs, and those are for the next check.
    """
    checked, by_key = 0, Counter[str]()
    try:
        head, ring = _head(), keys()
        _anchors_check(head, ring)
        for event in _rows_checked(head, ring, checkpoints or []):
            checked += 1
            by_key[event.key_id] += 1
        _stray_check()
    except Broken as broken:
        return Verdict(False, checked, broken.row_id, broken.reason)
    unsealed = AuditEvent.objects.filter(seq__isnull=True)
    oldest = unsealed.order_by("pk").values_list("created_at", flat=True).first()
    compared = [c for c in checkpoints or [] if c.seq > head.anchor_seq]
    return Verdict(
        True,
        checked,
        unsealed=unsealed.count(),
        oldest_unsealed=oldest,
        rows_by_key=dict(by_key),
        checkpoints=len(compared),
        latest_checkpoint=max(checkpoints or [], key=lambda c: c.seq, default=None),
    )


def _head() -> AuditChain:
    head = AuditChain.objects.filter(pk=1).first()
    if head is not None:
        return head
    sealed = AuditEvent.objects.filter(seq__isnull=False).count()
    if sealed:
        raise Broken(
            f"the chain's head row is missing while {sealed} sealed rows remain "
            f"(deleted outside Portero)"
        )
    return AuditChain(pk=1)


def _anchors_check(head: AuditChain, ring: AuditKeys) -> None:
    """The purge anchor and the legacy epoch must carry tags made with the audit key."""
    if (head.anchor_seq or head.anchor_hash) and not ring.tag_valid(
        head.anchor_tag, "anchor", head.anchor_seq, head.anchor_hash
    ):
        raise Broken(
            "the purge anchor was not set by Portero (its tag does not match the "
            "audit key): the oldest rows were removed outside `portero audit purge`"
        )
    if (head.legacy_seq or head.legacy_tag) and not ring.tag_valid(
        head.legacy_tag, "legacy", head.legacy_seq, head.legacy_hash
    ):
        raise Broken(
            "the record of the rows sealed before the chain was keyed does not match "
            "the audit key (changed outside Portero)"
        )


def _rows_checked(
    head: AuditChain, ring: AuditKeys, checkpoints: list[Checkpoint]
) -> Iterator[AuditEvent]:
    """Yield each sealed row up to the head once it is proven; raise Broken at the first
    that is not."""
    marks = {c.seq: c for c in checkpoints if c.seq > head.anchor_seq}
    expected_prev, last_seq, last_hash = (
        head.anchor_hash or GENESIS,
        head.anchor_seq,
        head.anchor_hash,
    )
    for event in _sealed_rows(up_to=head.head_seq):
        _row_check(event, expected_prev, head, ring)
        mark = marks.get(event.seq or 0)
        if mark is not None and mark.row_hash != event.row_hash:
            raise Broken(
                f"does not match the checkpoint of {mark.at} (seq {mark.seq}): the "
                f"chain was rewritten from here on",
                event.pk,
            )
        expected_prev, last_seq, last_hash = event.row_hash, event.seq or 0, event.row_hash
        yield event
    if (head.head_seq or head.head_hash) and (last_seq, last_hash) != (
        head.head_seq,
        head.head_hash,
    ):
        raise Broken("the newest rows were removed")
    beyond = [c for c in checkpoints if c.seq > head.head_seq]
    if beyond:
        latest = max(beyond, key=lambda c: c.seq)
        raise Broken(
            f"the checkpoint of {latest.at} names seq {latest.seq}, after the head "
            f"(seq {head.head_seq}): the newest rows were removed and the head moved "
            f"back"
        )


def _row_check(event: AuditEvent, expected_prev: str, head: AuditChain, ring: AuditKeys) -> None:
    if event.prev_hash != expected_prev:
        raise Broken(
            "does not follow the previous row (a row before it was changed or removed)", event.pk
        )
    if not event.key_id:
        if (event.seq or 0) > head.legacy_seq:
            raise Broken("is not sealed with the audit key (written outside Portero)", event.pk)
        if event.seq == head.legacy_seq and event.row_hash != head.legacy_hash:
            raise Broken("does not match the last row sealed before the chain was keyed", event.pk)
    elif event.key_id not in ring.by_id:
        raise Broken(
            f"is sealed with audit key {event.key_id}, which PORTERO_AUDIT_KEY_FILE "
            f"does not hold (add the older key back on a later line)",
            event.pk,
        )
    if row_digest(event, event.prev_hash, ring=ring) != event.row_hash:
        raise Broken("its contents were changed", event.pk)


def _stray_check() -> None:
    # One statement compares with the head as it is now: sealing moves both together.
    current_head = AuditChain.objects.filter(pk=1).values("head_seq")[:1]
    stray = (
        AuditEvent.objects.filter(seq__gt=Subquery(current_head))
        .order_by("seq")
        .values_list("pk", flat=True)
        .first()
    )
    if stray is not None:
        raise Broken(
            "is placed after the chain's head (a row added or moved outside Portero)", stray
        )
