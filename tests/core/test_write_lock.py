"""The worker's write transactions: measured, and batches sized by how long they held the lock."""

from __future__ import annotations

import pytest
from django.db import connection

from portero.core import write_lock
from portero.core.write_lock import BatchSizer, HeldTimes, write_transaction


def test_a_sizer_starts_small_and_follows_the_time_per_row():
    sizer = BatchSizer(budget=0.005, low=2, start=10, high=100)
    assert sizer.size == 10
    sizer.observe(rows=10, seconds=0.001)  # 0.1 ms a row: 50 rows fit in 5 ms
    assert sizer.size == (100 if connection.vendor == "postgresql" else 50)


def test_one_slow_transaction_shrinks_the_next_batch_at_once_quick_ones_grow_it_back():
    sizer = BatchSizer(budget=0.005, budget_postgresql=0.005, low=2, high=100)
    sizer.observe(rows=10, seconds=0.001)
    sizer.observe(rows=10, seconds=0.050)  # the machine got busy: 5 ms a row
    assert sizer.size == 2  # never below `low`: the queue still moves
    for _ in range(4):  # halfway to 0.1 ms a row each time: 2.55, 1.3, 0.71, 0.41 ms
        sizer.observe(rows=2, seconds=0.0002)
    assert sizer.size == 12


def test_held_times_keep_the_longest_and_a_histogram(caplog):
    held = HeldTimes()
    for seconds in (0.0005, 0.003, 0.003, 0.2):
        held.observe("recovery", seconds)
    held.observe("mail_claim", 0.001)
    assert (held.count, held.longest, held.longest_stage) == (5, 0.2, "recovery")
    assert held.quantile(0.5) == 0.005  # the bucket the median fell in
    assert "write transaction recovery held the database 200.0 ms" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_only_the_outermost_transaction_is_measured():
    with write_transaction("outer"), write_transaction("inner"):
        connection.cursor().execute("SELECT 1")
    assert write_lock.HELD.count == 1
    assert write_lock.HELD.longest_stage == "outer"
