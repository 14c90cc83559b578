"""Rate limits as data: named rules from settings.PORTERO_RATE_LIMITS, counted per hashed key.

Each rule counts hits of one action per scope (a normalised account identifier, or the client
address) over a sliding window, estimated from two fixed windows: the current count plus the
previous window's weighted by how much of it still overlaps. Counters live in the database, or
in Redis when REDIS_URL is set, so every process shares them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

import redis
from django.conf import settings
from django.db import connection

from portero.core import clock
from portero.core.crypto import keyed_digest
from portero.core.models import RateCounter


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
    def hit(self, key: str, expires_at: datetime) -> int: ...

    def get(self, key: str) -> int: ...


class DatabaseStore:
    """Counters in core_ratecounter; one atomic upsert per hit (SQLite >= 3.35, PostgreSQL)."""

    def hit(self, key: str, expires_at: datetime) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO core_ratecounter (key, count, expires_at) VALUES (%s, 1, %s) "
                "ON CONFLICT (key) DO UPDATE SET count = core_ratecounter.count + 1 "
                "RETURNING count",
                [key, expires_at],
            )
            return int(cursor.fetchone()[0])

    def get(self, key: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count FROM core_ratecounter WHERE key = %s", [key])
            row = cursor.fetchone()
        return int(row[0]) if row else 0


class RedisStore:
    """Counters in Redis: INCR with an expiry, one round trip per hit."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def hit(self, key: str, expires_at: datetime) -> int:
        ttl = max(int((expires_at - clock.now()).total_seconds()), 1)
        pipe = self.client.pipeline()
        pipe.incr(f"portero:rl:{key}")
        pipe.expire(f"portero:rl:{key}", ttl)
        count, _ = pipe.execute()
        return int(count)  # type: ignore[arg-type]

    def get(self, key: str) -> int:
        value: Any = self.client.get(f"portero:rl:{key}")
        return int(value) if value else 0


@lru_cache(maxsize=4)
def _store(redis_url: str) -> CounterStore:
    return RedisStore(redis_url) if redis_url else DatabaseStore()


def store() -> CounterStore:
    return _store(settings.REDIS_URL)


def _estimate(rule: Rule, subject: str, *, count_this: bool, now: datetime) -> float:
    window = int(now.timestamp()) // rule.period
    base = f"{rule.name}:{keyed_digest('ratelimit.' + rule.scope, subject)[:40]}"
    expires = datetime.fromtimestamp((window + 2) * rule.period, tz=now.tzinfo)
    current_key = f"{base}:{window}"
    current = store().hit(current_key, expires) if count_this else store().get(current_key)
    previous = store().get(f"{base}:{window - 1}")
    overlap = 1 - (now.timestamp() % rule.period) / rule.period
    return current + previous * overlap


def _over(action: str, subjects: dict[str, str | None], *, count_this: bool) -> list[str]:
    now = clock.now()
    exceeded = []
    for rule in rules_for(action):
        subject = subjects.get(rule.scope)
        if subject is None:
            continue
        estimate = _estimate(rule, subject, count_this=count_this, now=now)
        # Counting: this hit must fit. Peeking: one more hit must fit.
        if estimate + (0 if count_this else 1) > rule.limit:
            exceeded.append(rule.name)
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
