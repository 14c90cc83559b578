"""The worker's write transactions: measured, and batches sized by how long they held the lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection, transaction

from portero.core import write_lock
from portero.core.write_lock import BatchSizer, HeldTimes, write_transaction


def test_a_sizer_grows_by_a_quarter_while_full_batches_stay_well_within_the_budget():
    sizer = BatchSizer(budget=0.010, budget_postgresql=0.010, low=2, start=10, high=100)
    assert sizer.size == 10
    sizer.observe(rows=10, seconds=0.004)
    assert sizer.size == 12
    sizer.observe(rows=5, seconds=0.001)  # a partial batch says nothing about room for more
    assert sizer.size == 12
    sizer.observe(rows=12, seconds=0.009)  # within the budget, but near it: keep the size
    assert sizer.size == 12
    for _ in range(20):
        sizer.observe(rows=sizer.size, seconds=0.001)
    assert sizer.size == 100  # never above `high`


def test_a_slow_transaction_shrinks_the_next_batch_at_once_in_proportion():
    sizer = BatchSizer(budget=0.010, budget_postgresql=0.010, low=2, start=40, high=100)
    sizer.observe(rows=40, seconds=0.020)  # twice the budget: half the rows
    assert sizer.size == 20
    sizer.observe(rows=20, seconds=1.0)  # the machine stalled
    assert sizer.size == 2  # never below `low`: the queue still moves


def test_a_fixed_cost_near_the_budget_no_longer_keeps_batches_at_the_floor():
    # 4 ms whatever the batch, 0.3 ms a row: seconds per row, charged the fixed part, gave
    # 5 ms / (4.6 ms / 2 rows) = 2 rows for good. The largest batch within 10 ms is 20 rows.
    sizer = BatchSizer(budget=0.010, budget_postgresql=0.010, low=2, start=2, high=100)
    for _ in range(30):
        rows = sizer.size
        sizer.observe(rows=rows, seconds=0.004 + 0.0003 * rows)
    assert 12 <= sizer.size <= 20


def test_the_budget_is_the_databases_own():
    sizer = BatchSizer(budget=0.005, budget_postgresql=0.25, start=50, high=100)
    sizer.observe(rows=50, seconds=0.010)
    # 10 ms: twice SQLite's budget (half the rows next), a twenty-fifth of PostgreSQL's
    assert sizer.size == (62 if connection.vendor == "postgresql" else 25)


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


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write-ahead log")
def test_the_worker_copies_the_write_ahead_log_itself_outside_any_transaction():
    from portero.accounts.models import User

    database = Path(connection.settings_dict["NAME"])
    write_lock.wal_checkpoint()
    before = database.stat().st_size
    User.objects.bulk_create(
        [
            User(username=f"wal.{i}", email=f"wal.{i}@example.com", full_name="x" * 200)
            for i in range(300)
        ]
    )
    assert database.stat().st_size == before  # the new pages wait in the log
    write_lock.wal_checkpoint()
    assert database.stat().st_size > before  # copied into the database file
    with connection.cursor() as cursor:  # and this connection's commits no longer copy it
        assert cursor.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)


@pytest.mark.django_db(transaction=True)
def test_no_checkpoint_inside_a_transaction_or_on_postgresql(django_assert_num_queries):
    with transaction.atomic(), django_assert_num_queries(0):
        write_lock.wal_checkpoint()
    if connection.vendor == "postgresql":
        with django_assert_num_queries(0):
            write_lock.wal_checkpoint()


@pytest.mark.django_db(transaction=True)
def test_the_garbage_collector_waits_until_the_transaction_has_committed():
    import gc

    seen = []
    with write_transaction("outer"):
        seen.append(gc.isenabled())
        with write_transaction("inner"):  # a savepoint: the outer one decides
            seen.append(gc.isenabled())
        seen.append(gc.isenabled())
    assert seen == [False, False, False]
    assert gc.isenabled()


@pytest.mark.django_db(transaction=True)
def test_a_failed_transaction_gives_the_collector_back_and_a_disabled_one_stays_off():
    import gc

    with pytest.raises(ZeroDivisionError), write_transaction("failing"):
        1 / 0  # noqa: B018
    assert gc.isenabled()
    gc.disable()
    try:
        with write_transaction("outer"):
            pass
        assert not gc.isenabled()  # whoever turned it off turns it back on
    finally:
        gc.enable()
