"""`portero audit verify | export | purge`: the audit trail from the command line."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from portero.audit.chain import chain_verify
from portero.audit.export import events_export
from portero.audit.services import events_purge


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
        raise CommandError(f"{option} must be a date like 2026-11-01 or 2026-11-01T08:00; "
                           f"got {raw!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = ("The audit trail. verify: check the hash chain (the rows the worker has sealed) "
            "and name the first broken row. "
            "export: write events (--since, --until, --format csv|jsonl) to standard output. "
            "purge: delete events past PORTERO_AUDIT_RETENTION_DAYS, keeping the chain "
            "verifiable.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["verify", "export", "purge"])
        parser.add_argument("--since", help="export: first moment (inclusive)")
        parser.add_argument("--until", help="export: last moment (exclusive)")
        parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, f"_{action}")(**options)

    def _verify(self, **options: Any) -> None:
        verdict = chain_verify()
        if not verdict.ok:
            where = f" at row {verdict.broken_id}" if verdict.broken_id is not None else ""
            raise CommandError(f"audit chain broken{where}: "
                               f"{verdict.reason} ({verdict.checked} rows verified before it)")
        self.stdout.write(f"audit chain intact: {verdict.checked} rows verified")
        if verdict.unsealed and verdict.oldest_unsealed is not None:
            oldest = verdict.oldest_unsealed.astimezone(UTC).isoformat(timespec="seconds")
            self.stdout.write(f"{verdict.unsealed} newer row(s) not sealed yet, the oldest from "
                              f"{oldest}: `portero worker` seals them within "
                              f"PORTERO_WORKER_POLL_SECONDS; if that is long ago, is it running?")

    def _export(self, *, since: str | None, until: str | None, format: str,
                **options: Any) -> None:
        if not since:
            raise CommandError("export needs --since, e.g. --since 2026-11-01")
        start = parse_moment(since, "--since")
        end = parse_moment(until, "--until") if until else None
        if end is not None and end <= start:
            raise CommandError("--until must be later than --since")
        count = events_export(self.stdout, since=start, until=end, fmt=format)
        self.stderr.write(f"exported {count} event(s)")

    def _purge(self, **options: Any) -> None:
        deleted = events_purge()
        self.stdout.write(f"deleted {deleted} event(s) older than "
                          f"{settings.PORTERO_AUDIT_RETENTION_DAYS} days")
