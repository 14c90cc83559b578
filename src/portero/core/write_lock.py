"""How long the worker's write transactions hold the database, and batches sized to keep that short.

On SQLite a write transaction holds the database's only write lock from BEGIN IMMEDIATE to
COMMIT: every web request's INSERT waits behind it, and SQLite's busy handler then sleeps in
steps of up to 100 ms. So the worker does its reading and CPU work outside its transactions,
and each batch is sized by time as well as by count (`BatchSizer`). `write_transaction` opens
such a transaction and records how long it held the database (`HELD`), which the worker logs
and exposes as a metric.
"""

from __future__ import annotations

import bisect
import gc
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction

log = logging.getLogger(__name__)

# A write transaction longer than this is logged: it made web requests wait (on SQLite).
SLOW_SECONDS = 0.05
# Upper bounds of the histogram's buckets, in seconds (the last one catches the rest).
BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, float("inf"))


@dataclass
class HeldTimes:
    """Write transactions of this process: count, histogram, longest and its stage."""

    count: int = 0
    seconds: float = 0.0
    longest: float = 0.0
    longest_stage: str = ""
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def observe(self, stage: str, held: float) -> None:
        with self.lock:
            self.count += 1
            self.seconds += held
            self.buckets[bisect.bisect_left(BUCKETS, held)] += 1
            if held > self.longest:
                self.longest, self.longest_stage = held, stage
        if held > SLOW_SECONDS:
            log.warning("write transaction %s held the database %.1f ms", stage, held * 1000)

    def quantile(self, q: float) -> float:
        """Return the bucket bound below which a share `q` of the transactions ended."""
        wanted, seen = q * self.count, 0
        for bound, n in zip(BUCKETS, self.buckets, strict=True):
            seen += n
            if seen >= wanted and n:
                return min(bound, self.longest)
        return self.longest

    def summary(self) -> str:
        return (
            f"{self.count} write transactions, p50 <= {self.quantile(0.5) * 1000:.0f} ms, "
            f"p99 <= {self.quantile(0.99) * 1000:.0f} ms, longest "
            f"{self.longest * 1000:.1f} ms ({self.longest_stage or '-'})"
        )

    def reset(self) -> None:
        with self.lock:
            self.count, self.seconds, self.longest, self.longest_stage = 0, 0.0, 0.0, ""
            self.buckets = [0] * len(BUCKETS)


HELD = HeldTimes()


@dataclass
class Written:
    """What the body of a `write_transaction` tells it: how many rows its batch had."""

    rows: int = 0


@contextmanager
def write_transaction(
    stage: str, sizer: BatchSizer | None = None, rows: int = 0
) -> Iterator[Written]:
    """Open a transaction (atomic) and record how long it held the database.

    Measured from the moment the transaction holds the database (after BEGIN; on SQLite,
    once it has the write lock) to the end of its COMMIT, so waiting for the lock is not
    counted. Inside an enclosing transaction (a savepoint) nothing is recorded: the outer one
    is what holds the lock. `sizer` learns from it, for `rows` rows (or as many as the body
    sets on the `Written` it gets).
    """
    outermost = not connection.in_atomic_block
    written = Written(rows)
    with _collector_paused(outermost), transaction.atomic():
        started = time.perf_counter()
        yield written
    if outermost:
        held = time.perf_counter() - started
        HELD.observe(stage, held)
        if sizer is not None and written.rows:
            sizer.observe(written.rows, held)


def wal_checkpoint() -> None:
    """Copy SQLite's write-ahead log into the database file now, outside any transaction.

    By default the commit that takes the log past 1,000 pages does this copy, and its disk
    sync, before it returns: 50-60 ms here, inside whatever transaction was unlucky (a web
    request, or a worker batch holding the write lock, bench/README.md). The worker's rounds
    copy it instead, with its own connection's automatic copy turned off; a PASSIVE
    checkpoint takes no write lock, so web requests carry on meanwhile. Web connections keep
    the automatic copy, for when no worker runs. Nothing to do on PostgreSQL.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


@contextmanager
def _collector_paused(pause: bool) -> Iterator[None]:
    """Keep Python's cyclic garbage collector from running inside the block.

    A full collection in a worker process walks every object it holds: about 80 ms here,
    and it lands wherever the allocation count happens to cross its threshold; inside a
    write transaction, every web request waits for it (bench/README.md). Paused, it runs at
    the first allocations after the commit instead; a batch is a few milliseconds.
    """
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class BatchSizer:
    """The next batch's size: the largest that keeps a write transaction within its time
    budget, between `low` and `high`, found as TCP finds its window.

    A batch that held the database longer than the budget shrinks the next one at once, in
    proportion (`rows x budget / seconds`); a full batch within four fifths of the budget lets
    the next one grow by a quarter. The size therefore settles just under the budget whatever a
    transaction costs, which a single "seconds per row" cannot do: a transaction's time is
    a fixed part (BEGIN, the chain head's lock, COMMIT: about 4 ms on SQLite here) plus a
    part per row (about 0.5 ms for a recovery request), and charging the fixed part to the
    rows kept every batch at `low` once the budget came near the fixed part, so each round
    paid the fixed costs of every stage for two requests (bench/README.md, "Where the
    SQLite time went").

    The budget depends on the database: on SQLite a write transaction locks the whole
    database, so `budget` is small; on PostgreSQL it locks only its own rows and web requests
    never wait for it, so batches keep their size up to `budget_postgresql`.
    """

    def __init__(
        self,
        *,
        budget: float,
        budget_postgresql: float = 0.25,
        low: int = 1,
        start: int = 10,
        high: int = 100,
    ) -> None:
        self.budget, self.budget_postgresql = budget, budget_postgresql
        self.low, self.start, self.high = low, start, high
        self._size = start

    @property
    def size(self) -> int:
        return max(self.low, min(self.high, self._size))

    def observe(self, rows: int, seconds: float) -> None:
        budget = self.budget_postgresql if connection.vendor == "postgresql" else self.budget
        if seconds > budget:
            self._size = min(self.size, int(rows * budget / seconds))
        elif rows >= self.size and seconds <= 0.8 * budget:  # a quarter more fits, likely
            self._size = self.size + max(1, self.size // 4)

    def reset(self) -> None:
        self._size = self.start
