"""The worker processes recovery requests in batches: few statements, one bad row holds none back."""

from __future__ import annotations

import io
import logging

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portero.accounts.services import user_create
from portero.audit.models import AuditEvent
from portero.audit.services import events_seal
from portero.core import write_lock
from portero.core.client import ClientInfo
from portero.core.work_notify import CHANNEL
from portero.mail.models import OutboundEmail
from portero.recovery import processing
from portero.recovery.flows.password_reset import request_password_reset
from portero.recovery.flows.username_reminder import request_username_reminder
from portero.recovery.models import RecoveryRequest, RequestKind, RequestOutcome
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNTS = 30


@pytest.fixture
def requests() -> list[str]:
    names = [f"proveedor{i:02d}" for i in range(ACCOUNTS)]
    for name in names:
        user_create(username=name, email=f"{name}@example.com", password=PASSWORD)
    for name in names:
        request_password_reset(username=name, client=ClientInfo.system())
    request_password_reset(username="nadie.conocido", client=ClientInfo.system())
    request_username_reminder(email="proveedor00@example.com", client=ClientInfo.system())
    return names


def _in_transaction(queries: CaptureQueriesContext) -> list[str]:
    """Return the statements between the first BEGIN and COMMIT (SQLite's explicit BEGIN, or
    PostgreSQL's first statement after autocommit was switched off)."""
    sql = [q["sql"] for q in queries.captured_queries]
    begin = next((i for i, s in enumerate(sql) if s.startswith("BEGIN")), None)
    if begin is None:  # PostgreSQL: the claim's SELECT ... FOR UPDATE opens the transaction
        begin = next(i for i, s in enumerate(sql) if "FOR UPDATE" in s) - 1
    end = next((i for i, s in enumerate(sql) if s == "COMMIT" and i > begin), len(sql))
    return sql[begin + 1 : end]


def test_a_batch_is_written_in_the_same_few_statements_whatever_its_size(requests):
    events_seal()  # the chain's head row exists (the test database was emptied)
    with CaptureQueriesContext(connection) as small:
        assert processing.recovery_requests_process(limit=2) == 2
    with CaptureQueriesContext(connection) as large:
        assert processing.recovery_requests_process(limit=ACCOUNTS) == ACCOUNTS
    # Claim, resets, e-mails, the chain's head, audit rows, its new head, the requests: the
    # same statements for 2 requests and for 30 (the ORM may split a long insert in two).
    assert len(_in_transaction(large)) <= len(_in_transaction(small)) + 2 <= 12
    # Outside the transaction: the pending requests and one account look-up per kind.
    assert len(large) - len(_in_transaction(large)) <= 6
    outcomes = list(RecoveryRequest.objects.values_list("outcome", flat=True))
    assert outcomes.count(RequestOutcome.EMAIL_QUEUED) == ACCOUNTS + 1
    assert outcomes.count(RequestOutcome.NO_ACCOUNT) == 1
    assert OutboundEmail.objects.count() == ACCOUNTS + 1
    assert not RecoveryRequest.objects.filter(processed_at__isnull=True).exists()


def test_accounts_are_looked_up_before_the_write_transaction_not_inside_it(requests):
    with CaptureQueriesContext(connection) as queries:
        processing.recovery_requests_process(limit=ACCOUNTS + 2)
    inside = _in_transaction(queries)
    assert not [s for s in inside if s.startswith("SELECT") and "accounts_user" in s]
    looked_up = [q["sql"] for q in queries.captured_queries if 'FROM "accounts_user"' in q["sql"]]
    assert len(looked_up) == 2  # one query for the 31 usernames, one for the address


def test_a_batch_is_sized_by_how_long_its_transactions_held_the_database(requests, monkeypatch):
    # The SQLite budget on both databases (PostgreSQL's own is larger: nothing waits for it).
    monkeypatch.setattr(processing.SIZER, "budget_postgresql", processing.SIZER.budget)
    # As if the first 10 requests had held the write lock twice the budget: 5 go next.
    processing.SIZER.observe(rows=10, seconds=2 * processing.SIZER.budget)
    assert processing.recovery_requests_process() == 5
    processing.SIZER.reset()
    for _ in range(5):  # quick full batches: 10, 12, 15, 18, 22, then 27 fit
        processing.SIZER.observe(rows=processing.SIZER.size, seconds=0.0001)
    assert processing.recovery_requests_process() == 27


def test_every_write_transaction_of_a_batch_is_measured(requests, monkeypatch):
    observed: list[tuple[int, float]] = []
    monkeypatch.setattr(
        processing.SIZER, "observe", lambda rows, seconds: observed.append((rows, seconds))
    )
    processing.recovery_requests_process(limit=ACCOUNTS + 2)
    assert write_lock.HELD.count == 1
    assert write_lock.HELD.longest_stage == "recovery"
    # and the next batch is sized by it
    assert observed == [(ACCOUNTS + 2, write_lock.HELD.longest)]


def test_batched_audit_rows_keep_the_chain_intact_and_in_order(requests):
    processing.recovery_requests_process(limit=10)
    processing.recovery_requests_process(limit=100)
    requested = AuditEvent.objects.filter(event="reset.requested").order_by("pk")
    assert [e.subject for e in requested] == [
        f"request:{pk}"
        for pk in RecoveryRequest.objects.filter(kind=RequestKind.PASSWORD)
        .order_by("pk")
        .values_list("pk", flat=True)
    ]
    # The accounts' creation rows waited for sealing; the worker's own were chained as written.
    assert events_seal() == ACCOUNTS
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert f"{AuditEvent.objects.count()} rows verified" in out.getvalue()


def test_one_failing_request_does_not_hold_back_the_others(requests, monkeypatch, caplog):
    real = processing.HANDLERS[RequestKind.PASSWORD]

    def sometimes_broken(request: RecoveryRequest, accounts, issues) -> RequestOutcome:
        if request.identifier == "proveedor07":
            raise RuntimeError("broken row")
        return real(request, accounts, issues)

    monkeypatch.setitem(processing.HANDLERS, RequestKind.PASSWORD, sometimes_broken)
    caplog.set_level(logging.ERROR, logger="portero.recovery.processing")
    assert processing.recovery_requests_process(limit=100) == ACCOUNTS + 1
    pending = RecoveryRequest.objects.get(processed_at__isnull=True)
    assert pending.identifier == "proveedor07"  # still there, to be processed once mended
    assert "recovery request" in caplog.text and "broken row" in caplog.text
    assert OutboundEmail.objects.count() == ACCOUNTS  # the other 29 resets and the reminder

    monkeypatch.setitem(processing.HANDLERS, RequestKind.PASSWORD, real)
    assert processing.recovery_requests_process() == 1
    assert OutboundEmail.objects.count() == ACCOUNTS + 1


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="LISTEN/NOTIFY is PostgreSQL's; SQLite workers poll"
)
def test_an_insert_wakes_listening_workers_at_commit(user):
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        request_password_reset(username="gongoragabriela", client=ClientInfo.system())
        woken = list(listener.notifies(timeout=5, stop_after=1))
        assert [n.channel for n in woken] == [CHANNEL]
        processing.recovery_requests_process()  # queues an e-mail: another insert, another wake
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == [CHANNEL]
