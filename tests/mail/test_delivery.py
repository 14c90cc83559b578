"""The outbox: real SMTP, retries with backoff, visible failures, nothing lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portero.audit.models import AuditEvent
from portero.core import clock as clock_module
from portero.core import write_lock
from portero.core.write_lock import BatchSizer
from portero.mail import delivery
from portero.mail.delivery import (
    Outcome,
    classify_failure,
    emails_claim_due,
    emails_deliver_due,
    retry_delay,
)
from portero.mail.models import EmailKind, EmailStatus, OutboundEmail
from portero.mail.services import email_queue
from portero.mail.smtp import EmailBackend
from portero.ops.management.commands.worker import StoppableEmailBackend, StopRequested
from portero.recovery.models import PasswordReset
from portero.recovery.processing import recovery_requests_process
from tests.conftest import NEW_PASSWORD
from tests.helpers import ask_reset, html_of, link_in, set_password, text_of

pytestmark = pytest.mark.django_db


def _only_email() -> OutboundEmail:
    return OutboundEmail.objects.get()


def test_message_is_multipart_utf8_with_proper_headers(user, client, mailbox, worker):
    ask_reset(client, "gongoragabriela")
    worker.drain()
    message = mailbox.messages[0]
    assert message.get_content_type() == "multipart/alternative"
    assert message["From"] == "SECOP II <registro@secop.gov.co>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@cuentas.portero.test>")
    assert parsedate_to_datetime(message["Date"]) is not None
    assert "Haga clic aquí para cambiar la contraseña de usuario gongoragabriela" in html_of(
        message
    )
    body = text_of(message)
    for expected in (
        "Mesa de Servicio",
        "018000-52-0808",
        "https://soporte.portero.test",
        "https://portero.test/terminos",
        "nunca le solicitamos datos personales",
        "copie el enlace completo",
    ):
        assert expected in body, expected
    email = _only_email()
    assert email.status == EmailStatus.SENT
    assert email.smtp_reply.startswith("250") and "Queued as TEST" in email.smtp_reply
    assert email.message_id == message["Message-ID"]


def test_english_speaker_gets_the_email_in_english(user, client, mailbox, worker):
    user.language = "en"
    user.save()
    ask_reset(client, "gongoragabriela")
    worker.drain()
    message = mailbox.messages[0]
    assert message["Subject"] == "SECOP II – Password Recovery"
    assert "Click here to change the password of user gongoragabriela" in html_of(message)


def test_transient_failure_is_retried_with_backoff_then_sent(user, client, mailbox, worker, clock):
    mailbox.fail_data = "451 4.3.0 Mailbox temporarily unavailable"
    ask_reset(client, "gongoragabriela")
    worker.drain()
    email = _only_email()
    assert email.status == EmailStatus.RETRYING and email.attempts == 1
    assert email.last_error.startswith("451")
    first_wait = email.next_attempt_at - clock.now()
    assert timedelta(seconds=20) < first_wait < timedelta(seconds=40)

    worker.drain()  # not due yet: nothing happens
    assert _only_email().attempts == 1

    clock.advance(first_wait + timedelta(seconds=1))
    worker.drain()
    email = _only_email()
    assert email.attempts == 2 and email.status == EmailStatus.RETRYING
    assert email.next_attempt_at - clock.now() > first_wait  # exponential

    mailbox.fail_data = None
    clock.advance(timedelta(minutes=2))
    worker.drain()
    email = _only_email()
    assert email.status == EmailStatus.SENT and email.last_error == ""
    assert set_password(Client(), link_in(mailbox.messages[0]), NEW_PASSWORD)["Location"] == (
        "/restablecer/listo/"
    )


def test_smtp_server_down_keeps_the_message_for_later(user, client, mailbox, settings, clock):
    from portero.worker import Worker

    settings.EMAIL_PORT = 1  # nothing listens there: connection refused
    ask_reset(client, "gongoragabriela")
    Worker().drain()
    email = _only_email()
    assert email.status == EmailStatus.RETRYING
    assert "Connection" in email.last_error or "refused" in email.last_error.lower()


def test_permanent_failure_is_marked_failed_with_the_error(user, client, mailbox, worker):
    mailbox.fail_rcpt = "550 5.1.1 User unknown"
    ask_reset(client, "gongoragabriela")
    worker.drain()
    email = _only_email()
    assert email.status == EmailStatus.FAILED
    assert email.last_error == "550 5.1.1 User unknown"
    assert mailbox.messages == []


def test_reset_email_gives_up_when_its_link_would_arrive_dead(user, client, mailbox, worker, clock):
    mailbox.fail_data = "421 4.7.0 Try again later"
    ask_reset(client, "gongoragabriela")
    for _ in range(20):
        worker.drain()
        clock.advance(timedelta(minutes=15))
    email = _only_email()
    assert email.status in {EmailStatus.FAILED, EmailStatus.CANCELLED}
    assert email.attempts >= 4  # retried over the link's whole lifetime first
    assert email.give_up_at == PasswordReset.objects.get().expires_at


def test_email_for_an_already_used_link_is_not_sent(user, client, mailbox, worker):
    mailbox.fail_data = "451 4.3.0 later"
    ask_reset(client, "gongoragabriela")
    worker.drain()
    mailbox.fail_data = None
    ask_reset(client, "gongoragabriela")
    worker.drain()  # the second e-mail goes through (the first waits for its retry)
    set_password(Client(), link_in(mailbox.messages[0]), NEW_PASSWORD)
    clock_module.advance(timedelta(minutes=5))
    worker.drain()
    first = OutboundEmail.objects.filter(kind="password_reset").order_by("pk").first()
    assert first is not None and first.status == EmailStatus.CANCELLED


def test_lease_expiry_lets_another_worker_finish_a_crashed_send(
    user, client, mailbox, worker, clock
):
    ask_reset(client, "gongoragabriela")
    recovery_requests_process()
    email = _only_email()
    # a worker took it, then died; nobody else may take it, for now
    assert emails_claim_due(now=clock.now(), limit=50) == [email]
    assert emails_claim_due(now=clock.now(), limit=50) == []
    worker.drain()
    assert mailbox.messages == []
    clock.advance(timedelta(minutes=3))
    worker.drain()
    assert len(mailbox.messages) == 1 and _only_email().status == EmailStatus.SENT


def test_one_connection_serves_many_messages(user, client, mailbox, worker):
    for _ in range(5):
        ask_reset(client, "gongoragabriela")
    worker.drain()
    assert len(mailbox.messages) == 5
    assert OutboundEmail.objects.filter(status=EmailStatus.SENT).count() == 5


WRITES = ("INSERT", "UPDATE", "DELETE")


def _write_transactions_of(work: Callable[[], object]) -> int:
    """Run `work`; return how many write transactions it committed: the atomic blocks (each
    measured by write_lock.HELD) and the writes made outside any, each committed on its own."""
    autocommitted = 0

    def count(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        nonlocal autocommitted
        if not context["connection"].in_atomic_block and sql.lstrip().upper().startswith(WRITES):
            autocommitted += 1
        return execute(sql, params, many, context)

    before = write_lock.HELD.count
    with connection.execute_wrapper(count):
        work()
    return write_lock.HELD.count - before + autocommitted


def _queue(user: Any, count: int) -> None:
    for _ in range(count):
        email_queue(
            kind=EmailKind.PASSWORD_CHANGED,
            to_address=user.email,
            language="es-co",
            user=user,
            context={"changed_at": clock_module.now().isoformat()},
        )


@pytest.mark.django_db(transaction=True)
def test_a_batch_is_claimed_at_once_and_each_sent_message_recorded_in_one_transaction(
    user, mailbox, settings
):
    settings.PORTERO_RATE_LIMITS = {}  # 25 requests for one account
    for _ in range(25):
        ask_reset(Client(), "gongoragabriela")
    recovery_requests_process(limit=25)
    backend = EmailBackend(fail_silently=False)
    with CaptureQueriesContext(connection) as queries:
        transactions = _write_transactions_of(lambda: emails_deliver_due(connection=backend))
    backend.close()
    assert len(mailbox.messages) == 25
    assert OutboundEmail.objects.filter(status=EmailStatus.SENT).count() == 25
    # Claiming: the due messages read, one short transaction for all (SELECT ... FOR UPDATE,
    # UPDATE, and the Message-IDs of first attempts in one executemany), their details read
    # after it. Then one transaction per sent message, before the next goes (its UPDATE and
    # its audit row's INSERT; the next round seals them all), and nothing else: the lease
    # taken at the claim has more than half of it left. It was two per message (the lease
    # renewed on its own, then the outcome).
    assert transactions == 1 + 25
    assert len(queries) <= 7 + 25 * 4
    assert AuditEvent.objects.filter(event="mail.sent").count() == 25


@pytest.mark.django_db(transaction=True)
def test_outcomes_of_messages_that_did_not_go_are_recorded_together(user, mailbox, monkeypatch):
    # A sizer that allows 10 rows a transaction whatever the machine's speed.
    monkeypatch.setattr(
        delivery,
        "SIZER",
        BatchSizer(budget=1.0, budget_postgresql=1.0, start=10, high=10),
    )
    mailbox.fail_data = "451 4.3.0 Try again later"
    _queue(user, 25)
    backend = EmailBackend(fail_silently=False)
    transactions = _write_transactions_of(lambda: emails_deliver_due(connection=backend))
    backend.close()
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {EmailStatus.RETRYING}
    assert AuditEvent.objects.filter(event="mail.retrying").count() == 25
    # None of them was sent, so a crash before the record would only try them again: the
    # claim, then 10 + 10 + 5 outcomes, instead of one transaction (or two) for each.
    assert transactions == 1 + 3


def test_a_stop_asked_for_between_messages_still_records_what_waits(user, mailbox, monkeypatch):
    """`portero worker` stopping: the message that did not go keeps its outcome and audit row;
    the next one is not begun and keeps its lease."""
    stop = threading.Event()
    backend = StoppableEmailBackend(stop)
    real = delivery.email_deliver

    def deliver_then_stop(*, email: OutboundEmail, connection: EmailBackend) -> Outcome:
        outcome = real(email=email, connection=connection)
        stop.set()  # SIGTERM arrives while the first message is being sent
        return outcome

    monkeypatch.setattr(delivery, "email_deliver", deliver_then_stop)
    mailbox.fail_data = "451 4.3.0 Try again later"
    _queue(user, 2)
    with pytest.raises(StopRequested):
        emails_deliver_due(connection=backend)
    first, second = OutboundEmail.objects.order_by("pk")
    assert (first.status, second.status) == (EmailStatus.RETRYING, EmailStatus.SENDING)
    assert AuditEvent.objects.filter(event="mail.retrying").count() == 1
    assert second.lease_until is not None and mailbox.messages == []


@pytest.mark.parametrize("attempts,low,high", [(1, 27, 33), (2, 54, 66), (10, 810, 990)])
def test_retry_delay_doubles_and_is_capped(attempts, low, high):
    assert low <= retry_delay(attempts).total_seconds() <= high


def test_classify_failure():
    import smtplib

    assert classify_failure(smtplib.SMTPDataError(451, b"later")).transient
    assert not classify_failure(smtplib.SMTPDataError(554, b"no")).transient
    assert classify_failure(ConnectionRefusedError()).transient
    assert classify_failure(smtplib.SMTPAuthenticationError(535, b"bad creds")).transient
    refused = smtplib.SMTPRecipientsRefused({"a@b": (550, b"unknown")})
    assert not classify_failure(refused).transient


def test_old_recovery_history_is_purged_and_recent_kept(
    user, client, mailbox, worker, clock, settings
):
    from portero.recovery.models import RecoveryRequest
    from portero.recovery.services import recovery_history_purge

    settings.PORTERO_RECOVERY_RETENTION_DAYS = 90
    ask_reset(client, "gongoragabriela")
    worker.drain()
    clock.advance(timedelta(days=91))
    ask_reset(client, "gongoragabriela")
    worker.drain()
    assert recovery_history_purge() == 3  # the old request, its reset and its e-mail
    assert RecoveryRequest.objects.count() == 1
    assert PasswordReset.objects.count() == 1 and OutboundEmail.objects.count() == 1
