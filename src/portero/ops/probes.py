"""Is each service Portero depends on there? Shared by the health endpoints and the checks.

Every probe returns "" when all is well, or a short reason that names no secret (an
exception's class, never its message, which may quote a URL with its password).
"""

from __future__ import annotations

import smtplib
from functools import cache

import redis
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

SMTP_TIMEOUT_SECONDS = 5
REDIS_TIMEOUT_SECONDS = 2


def database_problem() -> str:
    """Run `SELECT 1` on the default database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # whatever the driver raises, the answer is "not reachable"
        connection.close()  # a broken connection must not be reused by the next probe
        return type(exc).__name__
    return ""


def migrations_pending() -> bool:
    """Return whether the database lacks a migration this code has (reads the migration files)."""
    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


@cache
def _redis(url: str) -> redis.Redis:
    # One client (and connection pool) per process and URL: a probe reuses its connection.
    return redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )


def redis_problem(url: str) -> str:
    """PING the Redis server at `url`."""
    try:
        _redis(url).ping()
    except (redis.RedisError, OSError) as exc:
        return type(exc).__name__
    return ""


def smtp_problem(*, host: str, port: int, use_ssl: bool) -> str:
    """Connect to the SMTP server, say EHLO and QUIT (no message, no login)."""
    smtp_class = smtplib.SMTP_SSL if use_ssl else smtplib.SMTP
    try:
        with smtp_class(host, port, timeout=SMTP_TIMEOUT_SECONDS) as server:
            code, _ = server.ehlo()
    except (OSError, smtplib.SMTPException) as exc:
        return type(exc).__name__
    return "" if code == 250 else f"EHLO answered {code}"
