"""Checkpoints: the chain head's hash, written outside the database on a schedule.

With the key, nobody can rewrite the chain; but someone who can write the database can still
delete the newest rows and move the head back to an older (genuine) row. A checkpoint records
where the head was at a moment; `portero audit verify --checkpoints FILE` fails when the chain
no longer reaches it, or reaches it with another hash. The worker appends one line to
PORTERO_AUDIT_CHECKPOINT_FILE every PORTERO_AUDIT_CHECKPOINT_MINUTES while the head moves, and
writes the same line to the log (`portero.audit.checkpoint`), which can be shipped elsewhere.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings

from portero.audit.models import AuditChain
from portero.core import clock

log = logging.getLogger("portero.audit.checkpoint")


@dataclass(frozen=True)
class Checkpoint:
    at: str  # ISO 8601, UTC
    seq: int
    row_hash: str


class CheckpointFileError(ValueError):
    """A checkpoint file that cannot be read as one."""


def checkpoint_write(path: Path | None = None) -> Checkpoint | None:
    """Append the head's place and hash to `path` (the configured file) and log it; return it,
    or None while nothing is sealed."""
    head = AuditChain.objects.filter(pk=1).values_list("head_seq", "head_hash").first()
    if head is None or not head[0]:
        return None
    mark = Checkpoint(at=clock.now().isoformat(timespec="seconds"), seq=head[0], row_hash=head[1])
    line = json.dumps({"at": mark.at, "seq": mark.seq, "hash": mark.row_hash})
    target = path or settings.PORTERO_AUDIT_CHECKPOINT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    # One write with O_APPEND: lines of several workers never interleave.
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    log.info("audit checkpoint %s", line)
    return mark


def checkpoints_read(path: Path) -> list[Checkpoint]:
    """Return the checkpoints in `path` (a file written by `checkpoint_write`, or log lines
    holding them); CheckpointFileError naming the first line that is neither."""
    marks: list[Checkpoint] = []
    try:
        text = path.read_text()
    except OSError as problem:
        raise CheckpointFileError(f"cannot read {path}: {problem.strerror}") from None
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:  # a log line carries the JSON after its prefix
            record = json.loads(raw[raw.index("{") :])
            marks.append(
                Checkpoint(
                    at=str(record["at"]), seq=int(record["seq"]), row_hash=str(record["hash"])
                )
            )
        except (ValueError, KeyError, TypeError):
            raise CheckpointFileError(f"{path}, line {number}: not a checkpoint") from None
    return marks


class CheckpointSchedule:
    """Say when the next checkpoint is due: every PORTERO_AUDIT_CHECKPOINT_MINUTES, and only
    when the head moved since the last one this process wrote."""

    def __init__(self) -> None:
        self.last_at: datetime | None = None
        self.last_seq = 0

    def run(self) -> Checkpoint | None:
        """Write a checkpoint if one is due; return it."""
        every = timedelta(minutes=settings.PORTERO_AUDIT_CHECKPOINT_MINUTES)
        if self.last_at is not None and clock.now() - self.last_at < every:
            return None
        head_seq = AuditChain.objects.filter(pk=1).values_list("head_seq", flat=True).first()
        if not head_seq or head_seq == self.last_seq:
            return None
        mark = checkpoint_write()
        if mark is not None:
            self.last_at, self.last_seq = clock.now(), mark.seq
        return mark
