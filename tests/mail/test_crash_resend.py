"""A worker that dies mid-batch sends at most one message twice, under the same Message-ID."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from portero.core import clock
from portero.mail import delivery
from portero.mail.composing import NotNeeded
from portero.mail.delivery import emails_deliver_due
from portero.mail.models import EmailKind, EmailStatus, OutboundEmail
from portero.mail.services import email_queue
from portero.mail.smtp import EmailBackend

pytestmark = pytest.mark.django_db


class WorkerKilled(Exception):
    """Stands for `kill -9`: the worker stops between the SMTP server's 250 and the record."""


def _queue(user: Any, count: int) -> list[OutboundEmail]:
    return [
        email_queue(
            kind=EmailKind.PASSWORD_CHANGED,
            to_address=user.email,
            language="es",
            user=user,
            context={"changed_at": clock.now().isoformat()},
        )
        for _ in range(count)
    ]


def _crash_after_recording(monkeypatch: pytest.MonkeyPatch, recorded: int) -> None:
    """Let `recorded` outcomes be recorded, then die while recording the next ones."""
    real = delivery.outcomes_record
    calls = Counter[str]()

    def record(outcomes: list[delivery.Outcome]) -> None:
        if calls["n"] + len(outcomes) > recorded:
            raise WorkerKilled
        calls["n"] += len(outcomes)
        real(outcomes)

    monkeypatch.setattr(delivery, "outcomes_record", record)


def _not_needed(monkeypatch: pytest.MonkeyPatch, email: OutboundEmail) -> None:
    """Make `email` one that should not be sent any more (say, its link was used)."""
    real = delivery.render_email

    def render(message: OutboundEmail) -> Any:
        if message.pk == email.pk:
            raise NotNeeded("no longer needed")
        return real(message)

    monkeypatch.setattr(delivery, "render_email", render)


def _deliver_until_killed() -> None:
    backend = EmailBackend(fail_silently=False)
    with pytest.raises(WorkerKilled):
        emails_deliver_due(connection=backend)
    backend.close()


def _after_the_lease(settings: Any) -> None:
    clock.advance(timedelta(seconds=settings.PORTERO_MAIL_LEASE_SECONDS + 1))


def test_a_message_left_sending_after_a_crash_goes_again_with_its_message_id(
    user, mailbox, worker, monkeypatch, settings
):
    [email] = _queue(user, 1)
    _crash_after_recording(monkeypatch, recorded=0)
    _deliver_until_killed()
    email.refresh_from_db()
    assert email.status == EmailStatus.SENDING and email.lease_until is not None
    [first] = mailbox.messages
    assert email.message_id and first["Message-ID"] == email.message_id  # stored before sending

    monkeypatch.undo()
    worker.drain()  # the lease still holds: nobody takes it over yet
    assert len(mailbox.messages) == 1
    _after_the_lease(settings)
    worker.drain()
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and email.attempts == 2
    assert [m["Message-ID"] for m in mailbox.messages] == [email.message_id] * 2


def test_a_retried_message_keeps_its_message_id(user, mailbox, worker):
    mailbox.fail_data = "451 4.3.0 Try again later"
    [email] = _queue(user, 1)
    worker.drain()
    email.refresh_from_db()
    assert email.status == EmailStatus.RETRYING and email.message_id
    mailbox.fail_data = None
    clock.advance(timedelta(minutes=2))
    worker.drain()
    assert [m["Message-ID"] for m in mailbox.messages] == [email.message_id]


def test_a_crash_mid_batch_sends_at_most_one_message_twice(
    user, mailbox, worker, monkeypatch, settings
):
    emails = _queue(user, 12)
    _crash_after_recording(monkeypatch, recorded=5)
    _deliver_until_killed()
    assert len(mailbox.messages) == 6  # five recorded, the sixth sent when the worker died
    assert OutboundEmail.objects.filter(status=EmailStatus.SENT).count() == 5

    monkeypatch.undo()
    _after_the_lease(settings)
    worker.drain()
    assert OutboundEmail.objects.filter(status=EmailStatus.SENT).count() == 12
    deliveries = Counter(m["Message-ID"] for m in mailbox.messages)
    assert set(deliveries) == set(OutboundEmail.objects.values_list("message_id", flat=True))
    assert len(mailbox.messages) == len(emails) + 1
    assert sorted(deliveries.values()) == [1] * 11 + [2]  # only the one in flight, same id


def test_a_crash_loses_the_outcomes_waiting_but_sends_only_the_one_in_flight_twice(
    user, mailbox, worker, monkeypatch, settings
):
    """The outcome of a message that did not go waits for the next sent one's record; a crash
    then loses both records: the first is tried again (it was never sent), the second is the
    one message sent twice."""
    cancelled, twice, once = _queue(user, 3)
    _not_needed(monkeypatch, cancelled)
    with monkeypatch.context() as crash:
        _crash_after_recording(crash, recorded=0)
        _deliver_until_killed()
    assert len(mailbox.messages) == 1
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {EmailStatus.SENDING}

    _after_the_lease(settings)
    worker.drain()
    for email in (cancelled, twice, once):
        email.refresh_from_db()
    assert (cancelled.status, twice.status, once.status) == (
        EmailStatus.CANCELLED,
        EmailStatus.SENT,
        EmailStatus.SENT,
    )
    deliveries = Counter(m["Message-ID"] for m in mailbox.messages)
    assert deliveries == {twice.message_id: 2, once.message_id: 1}


def test_a_slow_batch_whose_lease_ran_out_is_not_sent_twice(user, mailbox, worker, clock):
    """A second worker takes over a message whose lease ran out; the first, still going
    through its batch, must neither send it nor record an outcome for it."""
    from datetime import timedelta

    from portero.audit.models import AuditEvent
    from portero.mail.delivery import emails_claim_due, emails_deliver, emails_deliver_due
    from portero.mail.models import EmailKind, EmailStatus, OutboundEmail
    from portero.mail.services import email_queue

    for n in range(3):
        email_queue(
            kind=EmailKind.PASSWORD_CHANGED,
            to_address=f"p{n}@example.com",
            language="es-co",
            user=user,
            context={
                "changed_at": clock.now().isoformat(),
                "ip": "",
                "device": "",
                "via": "change",
                "sessions_ended": 0,
            },
        )
    first = emails_claim_due(now=clock.now(), limit=3)  # worker A, then A stalls
    clock.advance(timedelta(hours=1))  # past every lease
    assert emails_deliver_due(connection=worker.smtp) == 3  # worker B takes them and sends
    sent = len(mailbox.messages)
    emails_deliver(emails=first, connection=worker.smtp)  # A wakes up, goes on with its batch
    assert len(mailbox.messages) == sent == 3
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {EmailStatus.SENT}
    assert AuditEvent.objects.filter(event="mail.sent").count() == 3


def test_a_batch_past_half_its_lease_renews_it_before_each_message(user, mailbox, worker, settings):
    """Past half the lease, a message is sent only once its lease is renewed: another worker
    cannot take it over while it goes."""
    emails = _queue(user, 2)
    claimed = delivery.emails_claim_due(now=clock.now(), limit=2)
    taken = claimed[0].lease_until
    assert taken is not None
    lease = timedelta(seconds=settings.PORTERO_MAIL_LEASE_SECONDS)
    clock.advance(lease * 0.6)
    renewed: list[datetime | None] = []

    def send(*, email: OutboundEmail, connection: EmailBackend) -> delivery.Outcome:
        renewed.append(OutboundEmail.objects.get(pk=email.pk).lease_until)
        return real(email=email, connection=connection)

    real = delivery.email_deliver
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(delivery, "email_deliver", send)
        delivery.emails_deliver(emails=claimed, connection=worker.smtp)
    assert len(renewed) == 2  # each a whole lease from when it went, not from the claim
    assert all(at is not None and at - taken >= lease * 0.6 for at in renewed)
    assert len(mailbox.messages) == len(emails) == 2


@pytest.mark.parametrize(
    ("lease", "timeout", "left", "short"),
    [
        (120, 10, 71, False),  # the defaults: 70 s cover one more exchange
        (120, 10, 69, True),
        (600, 10, 299, True),  # half a long lease
        (30, 10, 29, True),  # a lease shorter than an exchange: renewed before every message
    ],
)
def test_a_message_begins_only_with_a_lease_that_covers_an_exchange(
    settings, lease, timeout, left, short
):
    settings.PORTERO_MAIL_LEASE_SECONDS, settings.EMAIL_TIMEOUT = lease, timeout
    email = OutboundEmail(lease_until=clock.now() + timedelta(seconds=left))
    assert delivery._lease_short(email) is short
