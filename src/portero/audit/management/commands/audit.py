"""`portero audit verify | export | purge | checkpoint | rotate-key`: the audit trail from the
command line."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from portero.audit.chain import HeadMissing
from portero.audit.checkpoints import CheckpointFileError, checkpoint_write, checkpoints_read
from portero.audit.events import EventType
from portero.audit.export import events_export
from portero.audit.keys import audit_key_rotate
from portero.audit.services import event_record, events_purge
from portero.audit.verify import Verdict, chain_verify


def parse_moment(raw: str, option: str) -> datetime:
    """Accept 2026-11-01 or 2026-11-01T08:00[:00][+00:00]; naive times are UTC."""
    try:
        moment = parse_datetime(raw)
        if moment is None:
            day = parse_date(raw)
            moment = datetime.combine(day, time.min) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(
            f"{option} must be a date like 2026-11-01 or 2026-11-01T08:00; got {raw!r}"
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "The audit trail. verify: check the keyed hash chain (the rows the worker has "
        "sealed) and name the first broken row; with --checkpoints FILE, also that the "
        "chain still reaches every checkpoint written outside the database. "
        "export: write events (--since, --until, --format csv|jsonl) to standard output. "
        "purge: delete events past PORTERO_AUDIT_RETENTION_DAYS, keeping the chain "
        "verifiable. checkpoint: append the head's hash to PORTERO_AUDIT_CHECKPOINT_FILE "
        "(or --file) now. rotate-key: put a new key first in PORTERO_AUDIT_KEY_FILE, "
        "keeping the older ones for the rows they sealed."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "action", choices=["verify", "export", "purge", "checkpoint", "rotate-key"]
        )
        parser.add_argument("--since", help="export: first moment (inclusive)")
        parser.add_argument("--until", help="export: last moment (exclusive)")
        parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
        parser.add_argument(
            "--checkpoints",
            type=Path,
            help="verify: a checkpoint file (or the log lines holding them)",
        )
        parser.add_argument(
            "--file",
            type=Path,
            help="checkpoint: the file to append to (default: PORTERO_AUDIT_CHECKPOINT_FILE)",
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, f"_{action.replace('-', '_')}")(**options)

    def _verify(self, *, checkpoints: Path | None, **options: Any) -> None:
        try:  # read before the chain: a checkpoint written meanwhile is within its head
            marks = checkpoints_read(checkpoints) if checkpoints else None
        except CheckpointFileError as problem:
            raise CommandError(str(problem)) from None
        verdict = chain_verify(marks)
        if not verdict.ok:
            where = f" at row {verdict.broken_id}" if verdict.broken_id is not None else ""
            raise CommandError(
                f"audit chain broken{where}: "
                f"{verdict.reason} ({verdict.checked} rows verified before it)"
            )
        self.stdout.write(f"audit chain intact: {verdict.checked} rows verified")
        self._verify_details(verdict, compared=checkpoints is not None)
        if verdict.unsealed and verdict.oldest_unsealed is not None:
            oldest = verdict.oldest_unsealed.astimezone(UTC).isoformat(timespec="seconds")
            self.stdout.write(
                f"{verdict.unsealed} newer row(s) not sealed yet, the oldest from "
                f"{oldest}: `portero worker` seals them within "
                f"PORTERO_WORKER_POLL_SECONDS; if that is long ago, is it running?"
            )

    def _verify_details(self, verdict: Verdict, *, compared: bool) -> None:
        for kid, rows in sorted(verdict.rows_by_key.items()):
            name = f"audit key {kid}" if kid else "plain SHA-256 (sealed before the upgrade)"
            self.stdout.write(f"  {rows} row(s) sealed with {name}")
        latest = verdict.latest_checkpoint
        if not compared:
            self.stdout.write(
                "no checkpoints compared: add --checkpoints FILE to detect rows "
                "removed from the end of the chain"
            )
        elif latest is None:
            self.stdout.write("the checkpoint file holds no checkpoint")
        else:
            self.stdout.write(
                f"{verdict.checkpoints} checkpoint(s) compared; the latest, of "
                f"{latest.at}, is seq {latest.seq}"
            )

    def _checkpoint(self, *, file: Path | None, **options: Any) -> None:
        mark = checkpoint_write(file)
        if mark is None:
            self.stdout.write("nothing sealed yet: no checkpoint written")
            return
        self.stdout.write(
            f"checkpoint written to {file or settings.PORTERO_AUDIT_CHECKPOINT_FILE}"
            f": seq {mark.seq}, {mark.row_hash}"
        )

    def _rotate_key(self, **options: Any) -> None:
        path = settings.PORTERO_AUDIT_KEY_FILE
        kid = audit_key_rotate(path)
        event_record(EventType.AUDIT_KEY_ROTATED, subject=f"key:{kid}")
        self.stdout.write(
            f"new audit key {kid} first in {path}; the older keys stay on the "
            f"lines after it. New rows are sealed with it from the worker's "
            f"next round."
        )

    def _export(self, *, since: str | None, until: str | None, format: str, **options: Any) -> None:
        if not since:
            raise CommandError("export needs --since, e.g. --since 2026-11-01")
        start = parse_moment(since, "--since")
        end = parse_moment(until, "--until") if until else None
        if end is not None and end <= start:
            raise CommandError("--until must be later than --since")
        count = events_export(self.stdout, since=start, until=end, fmt=format)
        self.stderr.write(f"exported {count} event(s)")

    def _purge(self, **options: Any) -> None:
        try:
            deleted = events_purge()
        except HeadMissing as problem:
            raise CommandError(f"{problem}: run `portero audit verify`") from None
        self.stdout.write(
            f"deleted {deleted} event(s) older than {settings.PORTERO_AUDIT_RETENTION_DAYS} days"
        )
