"""Starting and stopping what the run needs: scratch databases, SMTP sinks, servers, workers.

Every child runs in a process group of its own and is stopped by its PID (harness.stop_group)
when the context that started it exits, also on Ctrl-C or an error.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import harness
import psycopg
from harness import LOOPBACK, BenchError

BENCH_DIR = Path(__file__).resolve().parent
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PENDING_SQL = (
    "SELECT (SELECT count(*) FROM recovery_recoveryrequest WHERE processed_at IS NULL)"
    " + (SELECT count(*) FROM mail_outboundemail"
    "    WHERE status IN ('queued', 'sending', 'retrying'))")
GROWTH_TABLES = ("accounts_user", "recovery_recoveryrequest", "recovery_passwordreset",
                 "mail_outboundemail", "audit_auditevent", "django_session",
                 "accounts_sessionrecord")


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


@contextmanager
def child(name: str, cmd: list[str], env: dict[str, str], log: Path,
          cwd: Path | None = None) -> Iterator[harness.Child]:
    """Run `cmd` in a process group of its own; always stop that group by its PID."""
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603  our own interpreter and fixed arguments
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=cwd)
    try:
        yield harness.Child(name, process, log)
    finally:
        harness.stop_group(process)


def portero(args: list[str], env: dict[str, str], log: Path) -> Any:
    return child(args[0], [sys.executable, "-m", "portero.cli", *args], env, log)


class Sink:
    """The SMTP sink process (bench/sink.py) and the messages it logged."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def messages(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def count(self) -> int:
        return len(self.messages())


@contextmanager
def sink(port: int, delay: float, tmp: Path, env: dict[str, str]) -> Iterator[Sink]:
    log = tmp / f"sink-{port}.jsonl"
    with child("sink", [sys.executable, str(BENCH_DIR / "sink.py"), "--port", str(port),
                        "--delay", str(delay), "--log", str(log)], env,
               tmp / f"sink-{port}.out") as proc:
        wait_for_port(port, [proc])
        yield Sink(log)


def wait_for_port(port: int, children: list[harness.Child], timeout: float = 30) -> None:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        harness.check_alive(children)
        with socket.socket() as probe:
            if probe.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.1)
    raise BenchError(f"nothing listens on {port} after {timeout:.0f} s")


def stock_env(base: dict[str, str], db_name: str, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith(("PORTERO_", "DJANGO_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "stockpeer.settings", "STOCK_DB_NAME": db_name,
                "STOCK_SMTP_PORT": str(smtp_port), "STOCK_SECRET_KEY": "x" * 50,
                "PYTHONPATH": str(BENCH_DIR / "peers")})
    return env


def stock_server(env: dict[str, str], port: int, workers: int, log: Path) -> Any:
    """Gunicorn with the same settings `portero serve` uses (sync workers, access log)."""
    return child("stock", [
        sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "sync",
        "--bind", f"{LOOPBACK}:{port}", "--timeout", "30", "--graceful-timeout", "10",
        "--access-logfile", "-", "stockpeer.wsgi"], env, log, cwd=BENCH_DIR / "peers")


def pending(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(PENDING_SQL).fetchone()
    return int(row[0]) if row else 0


def wait_idle(url: str, timeout: float) -> float:
    """Wait until the worker has nothing left; return the seconds it took."""
    start = time.monotonic()
    while pending(url) and time.monotonic() - start < timeout:
        time.sleep(0.25)
    return round(time.monotonic() - start, 1)


def clear_backlog(url: str) -> int:
    """Cancel what the worker has not done yet (a bench database only); return how many."""
    with psycopg.connect(url) as conn:
        a = conn.execute("UPDATE mail_outboundemail SET status = 'cancelled' "
                         "WHERE status IN ('queued', 'retrying')").rowcount
        b = conn.execute("UPDATE recovery_recoveryrequest SET processed_at = now(), "
                         "outcome = 'throttled' WHERE processed_at IS NULL").rowcount
    return a + b


def table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        # Fixed table names from GROWTH_TABLES, never input.
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]  # noqa: S608
                for t in GROWTH_TABLES}
