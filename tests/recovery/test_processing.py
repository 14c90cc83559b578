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


def test_a_batch_costs_a_few_statements_per_request_not_one_transaction_each(requests):
    with CaptureQueriesContext(connection) as queries:
        assert processing.recovery_requests_process() == ACCOUNTS + 2
    # Per known request: the account lookup, the reset and the e-mail; for the whole batch:
    # claiming, one append to the audit chain (lock, insert, head) and one update of the rows.
    assert len(queries) <= 3 * (ACCOUNTS + 2) + 10
    outcomes = list(RecoveryRequest.objects.values_list("outcome", flat=True))
    assert outcomes.count(RequestOutcome.EMAIL_QUEUED) == ACCOUNTS + 1
    assert outcomes.count(RequestOutcome.NO_ACCOUNT) == 1
    assert OutboundEmail.objects.count() == ACCOUNTS + 1
    assert not RecoveryRequest.objects.filter(processed_at__isnull=True).exists()


def test_batched_audit_rows_keep_the_chain_intact_and_in_order(requests):
    processing.recovery_requests_process(limit=10)
    processing.recovery_requests_process()
    requested = AuditEvent.objects.filter(event="reset.requested").order_by("pk")
    assert [e.subject for e in requested] == [
        f"request:{pk}" for pk in RecoveryRequest.objects.filter(kind=RequestKind.PASSWORD)
        .order_by("pk").values_list("pk", flat=True)]
    # The accounts' creation rows waited for sealing; the worker's own were chained as written.
    assert events_seal() == ACCOUNTS
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert f"{AuditEvent.objects.count()} rows verified" in out.getvalue()


def test_one_failing_request_does_not_hold_back_the_others(requests, monkeypatch, caplog):
    real = processing.HANDLERS[RequestKind.PASSWORD]

    def sometimes_broken(request: RecoveryRequest) -> RequestOutcome:
        if request.identifier == "proveedor07":
            raise RuntimeError("broken row")
        return real(request)

    monkeypatch.setitem(processing.HANDLERS, RequestKind.PASSWORD, sometimes_broken)
    caplog.set_level(logging.ERROR, logger="portero.recovery.processing")
    assert processing.recovery_requests_process() == ACCOUNTS + 1
    pending = RecoveryRequest.objects.get(processed_at__isnull=True)
    assert pending.identifier == "proveedor07"  # still there, to be processed once mended
    assert "recovery request" in caplog.text and "broken row" in caplog.text
    assert OutboundEmail.objects.count() == ACCOUNTS  # the other 29 resets and the reminder

    monkeypatch.setitem(processing.HANDLERS, RequestKind.PASSWORD, real)
    assert processing.recovery_requests_process() == 1
    assert OutboundEmail.objects.count() == ACCOUNTS + 1


@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="LISTEN/NOTIFY is PostgreSQL's; SQLite workers poll")
def test_an_insert_wakes_listening_workers_at_commit(user):
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        request_password_reset(username="gongoragabriela", client=ClientInfo.system())
        woken = list(listener.notifies(timeout=5, stop_after=1))
        assert [n.channel for n in woken] == [CHANNEL]
        processing.recovery_requests_process()  # queues an e-mail: another insert, another wake
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == [CHANNEL]
