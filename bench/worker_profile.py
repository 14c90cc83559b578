"""Where the worker's time goes, in one process: statements and CPU per item, and how long
each of its write transactions holds the database.

    .venv/bin/python bench/worker_profile.py [--database sqlite|postgres] [--items N] [--tree]

Creates a scratch database (a SQLite file in a temporary directory, or PostgreSQL
`portero_bench_profile`, dropped afterwards) with Portero's production settings, as
bench/run.py does, 1,000 accounts, and N reset requests for known accounts (each becomes two
items: the request and its e-mail). Then runs `Worker.run_once` until nothing is left, with an
instant SMTP sink on loopback, and reports the items per second, the CPU per item and, per
stage, time, statements, and every write transaction from the moment it holds the database
(after BEGIN; on SQLite, the write lock) to the end of its COMMIT, a write statement outside
any atomic block counting as a transaction of its own (autocommit). With --tree,
pyinstrument's call tree of the rounds (`pip install pyinstrument`).

No other load: this is the worker's own cost, one round at a time.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import harness
import stack
import users

WRITES = ("INSERT", "UPDATE", "DELETE")
PASSWORD_HASH = "argon2$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0$" + "A" * 43


def setup(tmp: Path, database: str, es: ExitStack) -> None:
    """Become a Portero process on a fresh database (migrated), with production settings."""
    if database == "postgres":
        url = es.enter_context(stack.scratch_database("portero_bench_profile"))
    else:
        url = f"sqlite:///{tmp / 'portero.sqlite3'}"
    smtp = harness.free_port()
    env = harness.portero_env(tmp, 8000, smtp, url)
    # Its own process, as in bench/run.py: accepting mail must not count as the worker's CPU.
    es.enter_context(harness.sink(smtp, 0.0, tmp, env))
    os.environ.clear()
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    logging.getLogger("portero.security").disabled = True  # no log lines on the terminal


def load_accounts(count: int) -> list[str]:
    """Create `count` bench accounts; return the usernames with an address of their own."""
    from portero.accounts.models import User

    User.objects.bulk_create(
        [
            User(username=name, email=email, full_name=full, password=PASSWORD_HASH)
            for name, email, full in (users.account(i) for i in range(count))
        ],
        batch_size=500,
    )
    return [users.account(i)[0] for i in range(count) if users.has_own_email(i)]


def queue_requests(names: list[str], items: int) -> None:
    from portero.core.client import ClientInfo
    from portero.recovery.flows.password_reset import request_password_reset

    client = ClientInfo(ip="127.0.0.1", user_agent="bench", language="es-co")
    for i in range(items):
        request_password_reset(username=names[i % len(names)], client=client)


class Recorder:
    """Statements per stage (the worker's functions) and write-transaction lengths: atomic
    blocks, and writes outside any (each its own transaction)."""

    def __init__(self) -> None:
        self.stage = "other"
        self.statements: Counter[str] = Counter()
        self.seconds: dict[str, float] = defaultdict(float)
        self.held: dict[str, list[float]] = defaultdict(list)

    def statement(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.statements[self.stage] += 1
        if context["connection"].in_atomic_block or not sql.lstrip().upper().startswith(WRITES):
            return execute(sql, params, many, context)
        # A write outside any atomic block is a write transaction of its own (autocommit):
        # it holds the database, and waits for its commit, as long as it runs.
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.held[self.stage].append(time.perf_counter() - started)

    @contextmanager
    def in_stage(self, name: str) -> Iterator[None]:
        outer, self.stage = self.stage, name
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started
            self.stage = outer


def patch_atomic(recorder: Recorder) -> None:
    """Time every outermost atomic block from the moment it holds the database to its end."""
    from django.db import connection, transaction

    enter, leave = transaction.Atomic.__enter__, transaction.Atomic.__exit__
    opened: list[float] = []

    def timed_enter(self: Any) -> None:
        outermost = not connection.in_atomic_block
        enter(self)
        if outermost:
            if connection.vendor == "postgresql":
                # psycopg opens the transaction with the first statement: start it now so the
                # clock measures the same span on both databases.
                connection.cursor().execute("SELECT 1")
            opened.append(time.perf_counter())

    def timed_exit(self: Any, *exc: Any) -> Any:
        result = leave(self, *exc)
        if not connection.in_atomic_block and opened:
            recorder.held[recorder.stage].append(time.perf_counter() - opened.pop())
        return result

    transaction.Atomic.__enter__ = timed_enter  # type: ignore[method-assign]
    transaction.Atomic.__exit__ = timed_exit  # type: ignore[method-assign]


def instrument_stages(recorder: Recorder) -> None:
    """Wrap the worker's stage functions (as the worker module imported them)."""
    from portero import worker

    for name in (
        "events_seal",
        "recovery_requests_process",
        "emails_deliver_due",
        "logouts_deliver_due",
    ):
        real = getattr(worker, name)

        def staged(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            with recorder.in_stage(_name):
                return _real(*args, **kwargs)

        setattr(worker, name, staged)


def drain(recorder: Recorder, tree: bool) -> tuple[int, float]:
    from django.db import connection

    from portero.worker import Worker

    profiler: Any = None
    if tree:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    worker, handled, started = Worker(), 0, time.perf_counter()
    cpu = time.process_time()
    with connection.execute_wrapper(recorder.statement):
        while done := worker.run_once():
            handled += done
    cpu = time.process_time() - cpu
    worker.smtp.close()
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    wall = time.perf_counter() - started
    print(f"wall {wall:.2f} s ({handled / wall:.0f} items/s), CPU {cpu:.2f} s")
    return handled, cpu


def report(recorder: Recorder, items: int, handled: int, cpu: float) -> None:
    print(
        f"\n{items} reset requests, {handled} items handled, "
        f"{cpu / handled * 1000:.2f} ms CPU per item\n"
    )
    print(
        "| stage | s | statements | per request | write transactions | held in all, s | "
        "held p50 / p99 / max ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for stage in sorted(set(recorder.seconds) | set(recorder.held)):
        held = sorted(recorder.held.get(stage, []))
        cell = "-"
        if held:
            p99 = held[min(len(held) - 1, int(len(held) * 0.99))]
            cell = (
                f"{statistics.median(held) * 1000:.2f} / {p99 * 1000:.2f} / {held[-1] * 1000:.2f}"
            )
        print(
            f"| {stage} | {recorder.seconds.get(stage, 0):.2f} | "
            f"{recorder.statements[stage]} | {recorder.statements[stage] / items:.1f} | "
            f"{len(held)} | {sum(held):.2f} | {cell} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--items", type=int, default=500, help="reset requests to queue")
    parser.add_argument("--tree", action="store_true", help="pyinstrument call tree")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="portero-wprof-") as tmp, ExitStack() as es:
        setup(Path(tmp), args.database, es)
        names = load_accounts(1000)
        queue_requests(names, args.items)
        recorder = Recorder()
        patch_atomic(recorder)
        instrument_stages(recorder)
        handled, cpu = drain(recorder, args.tree)
        report(recorder, args.items, handled, cpu)
    return 0


if __name__ == "__main__":
    sys.exit(main())
