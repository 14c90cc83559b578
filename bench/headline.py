"""run.py's headline, once per database (SQLite and PostgreSQL): Portero's known-user reset
requests against stock Django and against the physical limit, the worker's longest write
transaction, and how long the queue takes to drain after a 30 s saturation phase.

Each database gets a fresh pair: Portero's (production settings, as in run.py) and the peer's
(stock Django's `PasswordResetView` and the bare-INSERT view of peers/stockpeer/views.py,
which gives the limit: the same gunicorn settings, one INSERT per POST). On SQLite both use
the same file settings (WAL, BEGIN IMMEDIATE, 20 s busy timeout).
"""

from __future__ import annotations

import sqlite3
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import harness
import phases
import psycopg
import stack
import users

LIMIT_PATH = "/limit/"
SATURATION_S = 30.0
DRAIN_TARGET_S = 10.0
LIMIT_TABLE = {
    "sqlite": "CREATE TABLE bench_limit_row (id INTEGER PRIMARY KEY, username VARCHAR(150) "
    "NOT NULL, created_at TIMESTAMP NOT NULL)",
    "postgres": "CREATE TABLE bench_limit_row (id BIGSERIAL PRIMARY KEY, username "
    "VARCHAR(150) NOT NULL, created_at TIMESTAMPTZ NOT NULL)",
}


@dataclass
class Db:
    """One database of the run: SQLite files or PostgreSQL scratch databases."""

    kind: str
    portero_url: str
    peer: str  # PostgreSQL database name, or SQLite file path

    def execute(self, url: str, sql: str) -> Any:
        if self.kind == "sqlite":
            with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=20) as conn:
                row = conn.execute(sql).fetchone()
            conn.close()
            return row
        with psycopg.connect(url) as pg:
            cursor = pg.execute(sql)
            return cursor.fetchone() if cursor.description else None

    def pending(self) -> int:
        row = self.execute(self.portero_url, stack.PENDING_SQL)
        return int(row[0]) if row else 0

    def wait_idle(self, timeout: float) -> float:
        """Wait until the worker has nothing left; return the seconds it took."""
        return harness.wait_for(lambda: not self.pending(), timeout=timeout, interval=0.1)

    def peer_url(self) -> str:
        return f"sqlite:///{self.peer}" if self.kind == "sqlite" else stack.db_url(self.peer)


@contextmanager
def databases(kind: str, tmp: Path) -> Iterator[Db]:
    if kind == "sqlite":
        yield Db(
            kind,
            f"sqlite:///{tmp / 'headline-portero.sqlite3'}",
            str(tmp / "headline-peer.sqlite3"),
        )
        return
    with (
        stack.scratch_database("portero_bench_hl") as url,
        stack.scratch_database("portero_bench_hl_peer"),
    ):
        yield Db(kind, url, "portero_bench_hl_peer")


def load_accounts(
    db: Db, url: str, table: str, columns: tuple[str, ...], rows: list[tuple[object, ...]]
) -> None:
    """Insert the bench accounts (both engines; the PostgreSQL path of run.py uses COPY)."""
    marks = ", ".join(["?" if db.kind == "sqlite" else "%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608  fixed names
    if db.kind == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.executemany(sql, [tuple(_sqlite(v) for v in row) for row in rows])
        conn.close()
        return
    with psycopg.connect(url) as pg, pg.cursor() as cursor:
        cursor.executemany(sql, rows)


def _sqlite(value: object) -> object:
    # Django stores aware datetimes on SQLite as naive UTC text.
    return (
        value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        if isinstance(value, datetime)
        else value
    )


def prepare(run: Any, db: Db, env: dict[str, str], peer_env: dict[str, str]) -> None:
    run.py(env, "-m", "portero.cli", "migrate", "--no-input", "-v", "0")
    load_accounts(
        db, db.portero_url, "accounts_user", users.COLUMNS, list(users.rows(0, run.SMALL, run.hash))
    )
    run.py(peer_env, "-m", "django", "migrate", "-v", "0")
    joined = datetime(2025, 1, 1, tzinfo=UTC)
    load_accounts(
        db,
        db.peer_url(),
        "auth_user",
        (
            "password",
            "is_superuser",
            "username",
            "first_name",
            "last_name",
            "email",
            "is_staff",
            "is_active",
            "date_joined",
        ),
        [
            (run.stock_hash, False, name, "", "", email, False, True, joined)
            for name, email, _ in (users.account(i) for i in range(run.SMALL))
        ],
    )
    db.execute(db.peer_url(), LIMIT_TABLE[db.kind])


def peer_env(run: Any, db: Db) -> dict[str, str]:
    env = stack.stock_env(run.base_env(), db.peer if db.kind == "postgres" else "", run.smtp)
    if db.kind == "sqlite":
        env["STOCK_SQLITE_PATH"] = db.peer
    return env


def longest_transaction(first_port: int, processes: int) -> dict[str, float]:
    """Scrape every worker process's metrics: the longest write transaction of all, their
    count, and the histogram bucket the 99th percentile falls in."""
    longest, count = 0.0, 0.0
    buckets: dict[float, float] = {}
    for port in range(first_port, first_port + processes):
        url = f"http://127.0.0.1:{port}/metrics"
        for line in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
            name, _, value = line.rpartition(" ")
            if name == "portero_worker_write_transaction_longest_seconds":
                longest = max(longest, float(value))
            elif name == "portero_worker_write_transaction_seconds_count":
                count += float(value)
            elif name.startswith("portero_worker_write_transaction_seconds_bucket"):
                bound = float(name.split('le="')[1].split('"')[0])
                buckets[bound] = buckets.get(bound, 0.0) + float(value)
    p99 = next((b for b, n in sorted(buckets.items()) if count and n >= 0.99 * count), 0.0)
    return {
        "longest_ms": round(longest * 1000, 2),
        "count": count,
        "p99_le_ms": round(p99 * 1000, 1),
    }


def measure(run: Any, kind: str) -> dict[str, Any]:
    """The headline phases on one database; return their figures."""
    with ExitStack() as es:
        db = es.enter_context(databases(kind, run.tmp))
        metrics = harness.free_ports(run.args.worker_processes)  # one per worker process
        env = {**harness.portero_env(run.tmp / kind, run.web, run.smtp, db.portero_url)}
        (run.tmp / kind).mkdir(exist_ok=True)
        worker_env = {**env, "PORTERO_METRICS_BIND": f"127.0.0.1:{metrics - 1}"}
        penv = peer_env(run, db)
        run.log(f"headline on {kind}: migrating, loading {run.SMALL} accounts in each database")
        prepare(run, db, env, penv)
        sink = es.enter_context(harness.sink(run.smtp, 0.0, run.tmp, env))
        kids = [
            es.enter_context(
                harness.portero(
                    ["worker", "--processes", str(run.args.worker_processes)],
                    worker_env,
                    run.tmp / f"{kind}-worker.log",
                )
            )
        ]
        kids.append(
            es.enter_context(
                harness.portero(
                    ["serve", "--workers", str(run.args.workers)],
                    env,
                    run.tmp / f"{kind}-serve.log",
                )
            )
        )
        harness.wait_until_serving(run.web, "/ingresar/", kids, time.monotonic() + 60)
        kids.append(
            es.enter_context(
                stack.stock_server(
                    penv, run.stock_port, run.args.workers, run.tmp / f"{kind}-stock.log"
                )
            )
        )
        harness.wait_until_serving(run.stock_port, "/password_reset/", kids, time.monotonic() + 60)
        return phases_on(run, db, metrics, sink)


def _loop(
    run: Any, port: int, path: str, names: list[str], field: str, conc: int, seconds: float
) -> dict[str, Any]:
    return phases.closed_loop(
        port, path, names, field, concurrency=conc, seconds=seconds, expect=302
    )


def phases_on(run: Any, db: Db, metrics: int, sink: harness.Sink) -> dict[str, Any]:
    out: dict[str, Any] = {"database": db.kind}
    seconds = run.args.phase
    run.log(f"headline on {db.kind}: Portero, known resets at c1 and c8")
    out["portero_c1"] = _loop(run, run.web, phases.RESET_PATH, run.known, "username", 1, seconds)
    # Each phase starts with an empty queue: c8 must not be measured while the worker drains
    # what c1 left (at 300 requests/s, 30 s of c1 leave minutes of work).
    out["drain_after_c1_s"] = db.wait_idle(300)
    out["portero_c8"] = _loop(run, run.web, phases.RESET_PATH, run.known, "username", 8, seconds)
    out["write_tx_after_rates"] = longest_transaction(metrics, run.args.worker_processes)
    out["drain_after_rates_s"] = db.wait_idle(300)
    saturation = SATURATION_S if not run.args.quick else 5.0
    run.log(f"headline on {db.kind}: saturation, {saturation:g} s of known resets at c8")
    out["saturation"] = _loop(run, run.web, phases.RESET_PATH, run.known, "username", 8, saturation)
    out["queue_after_saturation"] = db.pending()
    out["drain_after_saturation_s"] = db.wait_idle(300)
    out["queue_left"] = db.pending()
    out["write_tx"] = longest_transaction(metrics, run.args.worker_processes)
    out["delivered"] = sink.count()
    run.log(f"headline on {db.kind}: stock Django, then the bare-INSERT limit")
    out["stock_c8"] = _loop(
        run, run.stock_port, phases.STOCK_PATH, run.known_emails, "email", 8, seconds
    )
    out["limit_c8"] = _loop(run, run.stock_port, LIMIT_PATH, run.known, "username", 8, seconds)
    return out


def table(data: dict[str, Any]) -> list[str]:
    """The headline table and its targets, one row per database."""
    blocks = [data[k] for k in ("headline_sqlite", "headline_postgres") if k in data]
    if not blocks:
        return []
    lines = [
        "| database | Portero known resets/s c8 (p50 / p99 ms) | stock Django | "
        "Portero / stock | bare-INSERT limit | Portero / limit | longest worker write "
        "transaction (p99 <=) | queue after saturation | drained in |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    targets = ["| target | this run | met? |", "|---|---|---|"]
    for b in blocks:
        p, s, lim, tx = b["portero_c8"], b["stock_c8"], b["limit_c8"], b["write_tx"]
        lines.append(
            f"| {b['database']} | {p['rps']} ({p['p50_ms']} / {p['p99_ms']}) | {s['rps']} "
            f"({s['p50_ms']} / {s['p99_ms']}) | {p['rps'] / s['rps']:.2f}x | {lim['rps']} "
            f"({lim['p50_ms']} / {lim['p99_ms']}) | {p['rps'] / lim['rps']:.2f} | "
            f"{tx.get('longest_ms')} ms ({tx.get('p99_le_ms')} ms) | "
            f"{b['queue_after_saturation']} | {b['drain_after_saturation_s']} s |"
        )
        want = 1.5 if b["database"] == "sqlite" else 2.0
        db = b["database"]
        targets += [
            f"| {db}: known resets/s at c8 >= {want:g}x stock | {p['rps'] / s['rps']:.2f}x | "
            f"{_yes(p['rps'] >= want * s['rps'])} |",
            f"| {db}: p99 < 50 ms at c8 | {p['p99_ms']} ms | {_yes(p['p99_ms'] < 50)} |",
            f"| {db}: Portero / bare-INSERT limit >= 0.7 | {p['rps'] / lim['rps']:.2f} | "
            f"{_yes(p['rps'] >= 0.7 * lim['rps'])} |",
            f"| {db}: queue after the saturation phase drained within 10 s | "
            f"{b['queue_after_saturation']} items in {b['drain_after_saturation_s']} s | "
            f"{_yes(b['drain_after_saturation_s'] <= DRAIN_TARGET_S and not b['queue_left'])} |",
        ]
        if db == "sqlite":
            targets.append(
                f"| sqlite: longest worker write transaction < 20 ms | "
                f"{tx.get('longest_ms')} ms | {_yes(tx.get('longest_ms', 1e9) < 20)} |"
            )
    return [*lines, "", *targets]


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


if __name__ == "__main__":
    sys.exit("run it through bench/run.py --only headline")
