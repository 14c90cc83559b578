"""What bench/run.py needs besides Portero itself: scratch PostgreSQL databases, the stock
Django peer, and the queue's state in a database.

The children (the peer's gunicorn among them) are started through harness.child, in a process
group of their own, stopped by its PID when the context that started them exits.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import harness
import psycopg
from harness import BENCH_DIR, LOOPBACK, BenchError

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PENDING_SQL = (
    "SELECT (SELECT count(*) FROM recovery_recoveryrequest WHERE processed_at IS NULL)"
    " + (SELECT count(*) FROM mail_outboundemail"
    "    WHERE status IN ('queued', 'sending', 'retrying'))"
)
GROWTH_TABLES = (
    "accounts_user",
    "recovery_recoveryrequest",
    "recovery_passwordreset",
    "mail_outboundemail",
    "audit_auditevent",
    "django_session",
    "accounts_sessionrecord",
)


def db_url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """Create database `name` (dropping a leftover of an earlier run); always drop it."""
    if not name.startswith("portero_bench"):
        raise BenchError("scratch databases are named portero_bench*")
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield db_url(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stock_env(base: dict[str, str], db_name: str, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith(("PORTERO_", "DJANGO_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "stockpeer.settings",
            "STOCK_DB_NAME": db_name,
            "STOCK_SMTP_PORT": str(smtp_port),
            "STOCK_SECRET_KEY": "x" * 50,
            "PYTHONPATH": str(BENCH_DIR / "peers"),
        }
    )
    return env


def stock_server(env: dict[str, str], port: int, workers: int, log: Path) -> Any:
    """Gunicorn with the same settings `portero serve` uses (sync workers, access log)."""
    return harness.child(
        "stock",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--bind",
            f"{LOOPBACK}:{port}",
            "--timeout",
            "30",
            "--graceful-timeout",
            "10",
            "--access-logfile",
            "-",
            "stockpeer.wsgi",
        ],
        env,
        log,
        cwd=BENCH_DIR / "peers",
    )


def pending(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(PENDING_SQL).fetchone()
    return int(row[0]) if row else 0


def wait_idle(url: str, timeout: float) -> float:
    """Wait until the worker has nothing left; return the seconds it took."""
    return harness.wait_for(lambda: not pending(url), timeout=timeout, interval=0.25)


def clear_backlog(url: str) -> int:
    """Cancel what the worker has not done yet (a bench database only); return how many."""
    with psycopg.connect(url) as conn:
        a = conn.execute(
            "UPDATE mail_outboundemail SET status = 'cancelled' "
            "WHERE status IN ('queued', 'retrying')"
        ).rowcount
        b = conn.execute(
            "UPDATE recovery_recoveryrequest SET processed_at = now(), "
            "outcome = 'throttled' WHERE processed_at IS NULL"
        ).rowcount
    return a + b


def table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        # Fixed table names from GROWTH_TABLES, never input.
        return {
            t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]  # noqa: S608
            for t in GROWTH_TABLES
        }
