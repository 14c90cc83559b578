"""Rate limits as data: named rules from settings.PORTERO_RATE_LIMITS, counted per hashed key.

Each rule counts hits of one action per scope (a normalised account identifier, or the client
address) over a sliding window, estimated from two fixed windows: the current count plus the
previous window's weighted by how much of it still overlaps. Counters live in the database, or
in Redis when REDIS_URL is set, so every process shares them.

When Redis does not answer, the counters fall back to the database (which every request needs
anyway) and Redis is tried again after REDIS_RETRY_SECONDS: the limits keep holding, nobody is
refused for an outage of a cache, and no request fails. The price: counts made in Redis before
the outage are not seen by the database's, so across an outage a limit can at most double for
the windows it spans (docs/operations.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

import redis
from django.conf import settings
from django.db import connection

from portero.core import clock
from portero.core.crypto import keyed_digest
from portero.core.models import RateCounter

log = logging.getLogger(__name__)

# Seconds the counters stay in the database after Redis failed, before Redis is tried again:
# an unreachable host costs its connect timeout (2 s) once per interval, not on every request.
REDIS_RETRY_SECONDS = 30


@dataclass(frozen=True)
class Rule:
    name: str
    action: str
    scope: str  # "account" or "ip"
    limit: int
    period: int  # seconds


def rules_for(action: str) -> list[Rule]:
    """Return the enabled rules of `action`."""
    table: dict[str, dict[str, Any]] = settings.PORTERO_RATE_LIMITS
    return [
        Rule(name, spec["action"], spec["scope"], spec["limit"], spec["period"])
        for name, spec in table.items()
        if spec["action"] == action
    ]


class CounterStore(Protocol):
    def counts(self, hits: dict[str, datetime], reads: list[str]) -> dict[str, int]:
        """Add one to each key of `hits` (kept until its time), read `reads`; return all."""
        ...


class DatabaseStore:
    """Counters in core_ratecounter: one multi-row upsert and one read, whatever the rules."""

    def counts(self, hits: dict[str, datetime], reads: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        with connection.cursor() as cursor:
            if hits:
                rows = ", ".join(["(%s, 1, %s)"] * len(hits))
                cursor.execute(
                    f"INSERT INTO core_ratecounter (key, count, expires_at) VALUES {rows} "  # noqa: S608
                    "ON CONFLICT (key) DO UPDATE SET count = core_ratecounter.count + 1 "
                    "RETURNING key, count",
                    [value for item in hits.items() for value in item],
                )
                found.update(cursor.fetchall())
            if reads:
                marks = ", ".join(["%s"] * len(reads))
                cursor.execute(
                    f"SELECT key, count FROM core_ratecounter WHERE key IN ({marks})",  # noqa: S608
                    reads,
                )
                found.update(cursor.fetchall())
        return {key: int(found.get(key, 0)) for key in [*hits, *reads]}


class RedisStore:
    """Counters in Redis: INCR with an expiry, all rules in one round trip."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def counts(self, hits: dict[str, datetime], reads: list[str]) -> dict[str, int]:
        pipe = self.client.pipeline(transaction=False)
        now = clock.now()
        for key, expires_at in hits.items():
            pipe.incr(f"portero:rl:{key}")
            pipe.expire(f"portero:rl:{key}", max(int((expires_at - now).total_seconds()), 1))
        if reads:
            pipe.mget([f"portero:rl:{key}" for key in reads])
        replies: list[Any] = pipe.execute()
        found = {key: int(replies[2 * i]) for i, key in enumerate(hits)}
        if reads:
            found.update(
                {key: int(v) if v else 0 for key, v in zip(reads, replies[-1], strict=True)}
            )
        return found


class RedisOrDatabaseStore:
    """Redis while it answers; the database while it does not (never an error, never no limit)."""

    def __init__(self, url: str) -> None:
        self.redis, self.database = RedisStore(url), DatabaseStore()
        self.retry_at: datetime | None = None  # set while Redis is considered down

    def counts(self, hits: dict[str, datetime], reads: list[str]) -> dict[str, int]:
        if self.retry_at is None or clock.now() >= self.retry_at:
            try:
                found = self.redis.counts(hits, reads)
            except redis.RedisError as problem:
                if self.retry_at is None:
                    log.warning(
                        "Redis unreachable (%s): rate-limit counters in the database "
                        "until it answers; trying it again every %ss",
                        type(problem).__name__,
                        REDIS_RETRY_SECONDS,
                    )
                self.retry_at = clock.now() + timedelta(seconds=REDIS_RETRY_SECONDS)
            else:
                if self.retry_at is not None:
                    log.warning("Redis answers again: rate-limit counters back in Redis")
                    self.retry_at = None
                return found
        return self.database.counts(hits, reads)


@lru_cache(maxsize=4)
def _store(redis_url: str) -> CounterStore:
    return RedisOrDatabaseStore(redis_url) if redis_url else DatabaseStore()


def store() -> CounterStore:
    return _store(settings.REDIS_URL)


@dataclass(frozen=True)
class _Window:
    rule: Rule
    current: str  # key of the counter of the current fixed window
    previous: str  # key of the one before it
    expires: datetime
    overlap: float  # how much of the previous window the sliding window still covers


def _window(rule: Rule, subject: str, now: datetime) -> _Window:
    window = int(now.timestamp()) // rule.period
    base = f"{rule.name}:{keyed_digest('ratelimit.' + rule.scope, subject)[:40]}"
    return _Window(
        rule,
        f"{base}:{window}",
        f"{base}:{window - 1}",
        datetime.fromtimestamp((window + 2) * rule.period, tz=now.tzinfo),
        1 - (now.timestamp() % rule.period) / rule.period,
    )


def _over(action: str, subjects: dict[str, str | None], *, count_this: bool) -> list[str]:
    now = clock.now()
    windows = [
        _window(rule, subject, now)
        for rule in rules_for(action)
        if (subject := subjects.get(rule.scope)) is not None
    ]
    if not windows:
        return []
    hits = {w.current: w.expires for w in windows} if count_this else {}
    reads = [w.previous for w in windows] + ([] if count_this else [w.current for w in windows])
    counts = store().counts(hits, reads)
    exceeded = []
    for w in windows:
        estimate = counts[w.current] + counts[w.previous] * w.overlap
        # Counting: this hit must fit. Peeking: one more hit must fit.
        if estimate + (0 if count_this else 1) > w.rule.limit:
            exceeded.append(w.rule.name)
    return exceeded


def hit(action: str, *, account: str | None = None, ip: str | None = None) -> list[str]:
    """Count one `action`; return the names of the rules now exceeded (empty: allowed)."""
    return _over(action, {"account": account, "ip": ip}, count_this=True)


def exceeded(action: str, *, account: str | None = None, ip: str | None = None) -> list[str]:
    """Return the rules of `action` that one more hit would exceed, counting nothing."""
    return _over(action, {"account": account, "ip": ip}, count_this=False)


def counters_purge() -> int:
    """Delete expired database counters; return how many (Redis expires its own)."""
    deleted, _ = RateCounter.objects.filter(expires_at__lt=clock.now()).delete()
    return deleted
