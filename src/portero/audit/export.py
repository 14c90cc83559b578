"""Export audit events as CSV or JSON lines (times in UTC, no secrets by construction)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from django.db.models import F

from portero.audit.models import AuditEvent


class Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


COLUMNS = [
    "id",
    "seq",
    "created_at",
    "event",
    "outcome",
    "actor",
    "user_id",
    "subject",
    "ip",
    "request_id",
    "details",
    "prev_hash",
    "row_hash",
]


def _records(since: datetime, until: datetime | None) -> Iterator[dict[str, Any]]:
    # In the chain's order, so that a file can be checked link by link; rows the worker has
    # not sealed yet come last, with no seq and no hashes.
    events = AuditEvent.objects.filter(created_at__gte=since).order_by(
        F("seq").asc(nulls_last=True), "pk"
    )
    if until is not None:
        events = events.filter(created_at__lt=until)
    for event in events.iterator(chunk_size=2000):
        yield {
            "id": event.pk,
            "seq": event.seq,
            "created_at": event.created_at.astimezone(UTC).isoformat(),
            "event": event.event,
            "outcome": event.outcome,
            "actor": event.actor,
            "user_id": event.user_id,
            "subject": event.subject,
            "ip": event.ip or "",
            "request_id": event.request_id,
            "details": event.details,
            "prev_hash": event.prev_hash,
            "row_hash": event.row_hash,
        }


def _cell(value: Any) -> Any:
    """Keep a spreadsheet from running a cell as a formula (CSV injection): a text cell that
    starts with = + - @ (or a tab or return) gets a leading apostrophe. JSON lines, the format
    to check the chain with, are written as stored."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def events_export(
    out: Writable, *, since: datetime, until: datetime | None = None, fmt: str = "jsonl"
) -> int:
    """Write the events in [since, until) to `out`; return how many."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for record in _records(since, until):
            row = {**record, "details": json.dumps(record["details"], sort_keys=True)}
            writer.writerow({name: _cell(value) for name, value in row.items()})
            count += 1
        return count
    for record in _records(since, until):
        out.write(json.dumps(record, ensure_ascii=True, sort_keys=False) + "\n")
        count += 1
    return count
