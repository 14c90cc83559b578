"""Per-account sign-in throttling (LI2): progressive delay, then a hard stop.

After PORTERO_SIGNIN_DELAY_AFTER failures in a row, each further attempt must wait a delay that
doubles per failure (capped at 15 minutes); attempts made during the wait are refused without
checking the password. After PORTERO_SIGNIN_LOCK_AFTER failures only a password reset or the
help desk lifts the stop. A success resets the count. A refusal says how long to wait: the
count is kept per typed username, account or not, so it tells nothing about the account (LI1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from portero.accounts.models import SignInThrottle
from portero.accounts.rules import normalize_username
from portero.core import clock
from portero.core.crypto import keyed_digest

MAX_DELAY = timedelta(minutes=15)


@dataclass(frozen=True)
class ThrottleState:
    failures: int
    locked: bool
    wait_until: datetime | None

    def refuses(self) -> bool:
        """True when the account may not try a password now."""
        waiting = self.wait_until is not None and clock.now() < self.wait_until
        return self.locked or waiting


def throttle_key(username: str) -> str:
    return keyed_digest("sign-in.account", normalize_username(username))


def delay_after(failures: int) -> timedelta:
    """Return the wait imposed after `failures` failures in a row."""
    extra = failures - settings.PORTERO_SIGNIN_DELAY_AFTER
    if extra < 0:
        return timedelta(0)
    seconds = settings.PORTERO_SIGNIN_DELAY_SECONDS * 2 ** min(extra, 20)
    return min(timedelta(seconds=seconds), MAX_DELAY)


def throttle_state(username: str) -> ThrottleState:
    row = SignInThrottle.objects.filter(key=throttle_key(username)).first()
    if row is None:
        return ThrottleState(0, False, None)
    locked = row.failures >= settings.PORTERO_SIGNIN_LOCK_AFTER
    wait = delay_after(row.failures)
    return ThrottleState(row.failures, locked, row.last_failure_at + wait if wait else None)


# One statement, so that concurrent failures never lose a count (SQLite >= 3.35, PostgreSQL).
_COUNT_FAILURE = (
    "INSERT INTO accounts_signinthrottle (key, failures, last_failure_at) VALUES (%s, 1, %s) "
    "ON CONFLICT (key) DO UPDATE SET failures = accounts_signinthrottle.failures + 1, "
    "last_failure_at = excluded.last_failure_at RETURNING failures"
)


def throttle_record_failure(username: str) -> int:
    """Count one more failure in a row; return the new count."""
    now = connection.ops.adapt_datetimefield_value(clock.now())
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_FAILURE, [throttle_key(username), now])
        return int(cursor.fetchone()[0])


def throttle_clear(username: str) -> None:
    """Forget the failures (a success, a completed reset, or a help-desk unlock)."""
    SignInThrottle.objects.filter(key=throttle_key(username)).delete()


def throttles_purge() -> int:
    """Forget failure runs idle for a day that never reached the lock; return how many."""
    stale = clock.now() - timedelta(days=1)
    deleted, _ = SignInThrottle.objects.filter(
        last_failure_at__lt=stale, failures__lt=settings.PORTERO_SIGNIN_LOCK_AFTER
    ).delete()
    return deleted
