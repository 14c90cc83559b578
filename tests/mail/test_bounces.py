"""Bounces: every message leaves with its own VERP envelope sender, and `portero bounces`, a real
SMTP server, records the delivery reports sent back to it (docs/mail.md, "Bounces")."""

from __future__ import annotations

import re
import smtplib
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from portero.accounts.models import User
from portero.audit.models import AuditEvent
from portero.core import clock
from portero.mail.bounces import (
    NotAReport,
    address_undeliverable,
    bounce_record,
    report_parse,
)
from portero.mail.models import EmailKind, EmailStatus, OutboundEmail, UndeliverableAddress
from portero.mail.services import email_queue
from portero.mail.verp import bounce_address_check, verp_address, verp_parse
from tests.conftest import PASSWORD, SMTPSink
from tests.helpers import ask_reset, link_in
from tests.mail import dsn_samples
from tests.processes import PorteroProcess, database_url, free_port

BOUNCE_ADDRESS = "rebotes@secop.gov.co"
VERP = re.compile(r"^rebotes\+(\d+)\.([0-9a-f]{12})@secop\.gov\.co$")


@pytest.fixture
def verp(settings: Any) -> str:
    settings.PORTERO_BOUNCE_ADDRESS = BOUNCE_ADDRESS
    return BOUNCE_ADDRESS


# --- The envelope sender ---------------------------------------------------------------------


def _send_one(user: User, worker: Any) -> OutboundEmail:
    email = email_queue(
        kind=EmailKind.PASSWORD_CHANGED,
        to_address=user.email,
        language="es",
        user=user,
        context={"changed_at": clock.now().isoformat()},
    )
    worker.drain()
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT, email.last_error
    return email


@pytest.mark.django_db
def test_each_message_leaves_with_its_own_verp_envelope_sender(user, worker, mailbox, verp):
    first, second = _send_one(user, worker), _send_one(user, worker)
    senders = [mail_from for mail_from, _ in mailbox.envelopes]
    assert senders == [verp_address(first.pk), verp_address(second.pk)]
    assert all(VERP.match(s) for s in senders) and senders[0] != senders[1]
    assert [verp_parse(s) for s in senders] == [first.pk, second.pk]
    # The From header is the sender's; Return-Path is the receiving server's to add.
    assert {str(m["From"]) for m in mailbox.messages} == {settings.DEFAULT_FROM_EMAIL}
    assert all(m["Return-Path"] is None for m in mailbox.messages)


@pytest.mark.django_db
def test_without_a_bounce_address_the_envelope_sender_is_the_from_address(user, worker, mailbox):
    assert not settings.PORTERO_BOUNCE_ADDRESS
    _send_one(user, worker)
    assert mailbox.envelopes[0][0] == "registro@secop.gov.co"


def test_verp_tag_is_keyed_to_the_message_and_the_server_key(settings, verp):
    address = verp_address(42)
    assert verp_parse(address) == 42
    assert verp_parse(address.upper()) == 42  # some servers change the case
    assert verp_parse(f"<{address}>") == 42
    tag = VERP.match(address)[2]  # type: ignore[index]
    assert verp_parse(f"rebotes+43.{tag}@secop.gov.co") is None  # another message's id
    assert verp_parse(f"rebotes+42.{'0' * 12}@secop.gov.co") is None
    assert verp_parse(address.replace("secop.gov.co", "evil.example")) is None
    assert verp_parse("rebotes@secop.gov.co") is None
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "n" * 50, [old_key]
    assert verp_parse(address) == 42  # sent before the key was rotated
    assert verp_address(42) != address
    settings.SECRET_KEY_FALLBACKS = []
    assert verp_parse(address) is None
    settings.PORTERO_BOUNCE_ADDRESS = ""
    assert verp_parse(verp_address(42)) is None


@pytest.mark.parametrize(
    "value",
    [
        "rebotes+x@secop.gov.co",
        "rebotes",
        "@secop.gov.co",
        "rebotes@localhost",
        "Rebotes <rebotes@secop.gov.co>",
    ],
)
def test_a_bounce_address_that_cannot_work_stops_start_up(value):
    with pytest.raises(ImproperlyConfigured, match="PORTERO_BOUNCE_ADDRESS"):
        bounce_address_check(value.lower())
    bounce_address_check("rebotes@secop.gov.co")
    bounce_address_check("")


# --- The parser ------------------------------------------------------------------------------

SAMPLE = ("rebotes+7.0123456789ab@secop.gov.co", "ana@example.com", "<x@cuentas.portero.test>")


def test_parser_reads_postfix_exchange_and_delay_reports():
    postfix = report_parse(dsn_samples.postfix_user_unknown(*SAMPLE))
    assert (postfix.action, postfix.status, postfix.hard, postfix.fatal) == (
        "failed",
        "5.1.1",
        True,
        True,
    )
    assert postfix.diagnostic == (
        "smtp; 550 5.1.1 <ana@example.com>: Recipient address "
        "rejected: User unknown in virtual mailbox table"
    )
    exchange = report_parse(dsn_samples.exchange_access_denied(*SAMPLE))
    assert (exchange.status, exchange.hard) == ("5.7.1", True)
    assert "RESOLVER.RST.AuthRequired" in exchange.diagnostic
    delayed = report_parse(dsn_samples.postfix_mailbox_full_delayed(*SAMPLE))
    assert (delayed.action, delayed.status, delayed.hard, delayed.fatal) == (
        "delayed",
        "4.2.2",
        False,
        False,
    )


def test_parser_refuses_what_is_not_a_problem_report():
    success = (
        dsn_samples.postfix_user_unknown(*SAMPLE)
        .replace(b"Action: failed", b"Action: delivered")
        .replace(b"Status: 5.1.1", b"Status: 2.0.0")
    )
    bad_status = dsn_samples.postfix_user_unknown(*SAMPLE).replace(b"Status: 5.1.1", b"Status: 9.9")
    no_dsn_part = dsn_samples.postfix_user_unknown(*SAMPLE).replace(
        b"message/delivery-status", b"text/plain"
    )
    for raw in [
        dsn_samples.out_of_office(*SAMPLE),
        success,
        bad_status,
        no_dsn_part,
        b"",
        b"\x00\xff" * 500,
        b"Content-Type: multipart/report; boundary=\r\n\r\n--\r\n",
        b"Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: "
        b"message/delivery-status\r\n\r\n\r\n--b--\r\n",
    ]:
        with pytest.raises(NotAReport):
            report_parse(raw)


def test_a_final_failure_with_a_transient_status_loses_the_message_not_the_address():
    raw = dsn_samples.postfix_mailbox_full_delayed(*SAMPLE).replace(
        b"Action: delayed", b"Action: failed"
    )
    report = report_parse(raw)
    assert (report.fatal, report.hard) == (True, False)


def test_diagnostic_loses_control_characters_and_length():
    raw = dsn_samples.postfix_user_unknown(*SAMPLE).replace(
        b"User unknown in virtual mailbox table", b"User unknown \x1b[31m" + b"x" * 2000
    )
    report = report_parse(raw)
    assert "\x1b" not in report.diagnostic and len(report.diagnostic) == 500


# --- `portero bounces`, a real SMTP server ------------------------------------------------------


@pytest.fixture(scope="module")
def bounces_server(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, Path]]:
    """`portero bounces` as it runs in production, on the test database; (port, its log)."""
    port, var_dir = free_port(), tmp_path_factory.mktemp("bounces")
    env = {
        "PORTERO_ENV": "development",
        "PORTERO_VAR_DIR": str(var_dir),
        "PORTERO_SECRET_KEY": settings.SECRET_KEY,
        "PORTERO_BASE_URL": settings.PORTERO_BASE_URL,
        "PORTERO_AUDIT_KEY_FILE": str(settings.PORTERO_AUDIT_KEY_FILE),
        "PORTERO_BOUNCE_ADDRESS": BOUNCE_ADDRESS,
        "PORTERO_BOUNCE_BIND": f"127.0.0.1:{port}",
        "DATABASE_URL": database_url(),
        "EMAIL_URL": "smtp://127.0.0.1:1",
    }
    process = PorteroProcess(("bounces",), env, var_dir / "bounces.log").start()
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.popen is not None
            if process.popen.poll() is not None:
                raise AssertionError(f"portero bounces exited:\n{process.output()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, process.output()
                time.sleep(0.2)
        yield port, process.log
    finally:
        process.stop()
    assert process.popen.returncode == 0, process.output()  # SIGINT: a clean stop


def _deliver_report(port: int, to: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail("", [to], raw)  # reports come from the null sender


def _sent_message(user: User, worker: Any, mailbox: SMTPSink) -> tuple[OutboundEmail, str]:
    """Send a real recovery e-mail; return its row and the envelope sender it left with."""
    ask_reset(Client(), user.username)
    worker.drain()
    email = OutboundEmail.objects.filter(kind=EmailKind.PASSWORD_RESET).latest("pk")
    assert email.status == EmailStatus.SENT, email.last_error
    [(envelope_sender, _)] = mailbox.envelopes[-1:]
    assert verp_parse(envelope_sender) == email.pk
    return email, envelope_sender


def _log(path: Path, needle: str) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if needle in path.read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


BOUNCE_DB = pytest.mark.django_db(transaction=True)


@BOUNCE_DB
def test_postfix_user_unknown_bounces_the_message_and_flags_the_address(
    user, worker, mailbox, verp, bounces_server
):
    port, log = bounces_server
    email, sender = _sent_message(user, worker, mailbox)
    _deliver_report(
        port, sender, dsn_samples.postfix_user_unknown(sender, user.email, email.message_id)
    )

    email.refresh_from_db()
    assert email.status == EmailStatus.BOUNCED and email.bounced_at is not None
    assert email.bounce_status == "5.1.1"
    assert "User unknown in virtual mailbox table" in email.bounce_diagnostic
    event = AuditEvent.objects.get(event="mail.bounced")
    assert (event.outcome, event.subject, event.user_id) == (
        "bounced",
        f"email:{email.pk}",
        user.pk,
    )
    assert event.details["status"] == "5.1.1"
    flag = address_undeliverable(user)
    assert flag is not None and (flag.address, flag.status) == (user.email, "5.1.1")
    assert _log(log, f"message {email.pk}: failed 5.1.1")


@BOUNCE_DB
def test_exchange_5_7_1_is_a_hard_bounce_too(user, worker, mailbox, verp, bounces_server):
    port, _ = bounces_server
    email, sender = _sent_message(user, worker, mailbox)
    _deliver_report(
        port, sender, dsn_samples.exchange_access_denied(sender, user.email, email.message_id)
    )
    email.refresh_from_db()
    assert (email.status, email.bounce_status) == (EmailStatus.BOUNCED, "5.7.1")
    assert address_undeliverable(user) is not None


@BOUNCE_DB
def test_mailbox_full_is_recorded_but_not_fatal(user, worker, mailbox, verp, bounces_server):
    port, _ = bounces_server
    email, sender = _sent_message(user, worker, mailbox)
    _deliver_report(
        port, sender, dsn_samples.postfix_mailbox_full_delayed(sender, user.email, email.message_id)
    )
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT  # still being retried out there
    assert (email.bounce_status, email.bounce_diagnostic) == (
        "4.2.2",
        "smtp; 452 4.2.2 Mailbox full",
    )
    assert AuditEvent.objects.get(event="mail.bounced").outcome == "delayed"
    assert address_undeliverable(user) is None
    assert not UndeliverableAddress.objects.exists()


@BOUNCE_DB
def test_a_forged_tag_is_refused_and_changes_nothing(user, worker, mailbox, verp, bounces_server):
    port, log = bounces_server
    email, sender = _sent_message(user, worker, mailbox)
    other = OutboundEmail.objects.create(
        kind=EmailKind.PASSWORD_CHANGED,
        user=user,
        to_address=user.email,
        language="es",
        status=EmailStatus.SENT,
        give_up_at=clock.now() + timedelta(hours=1),
    )
    tag = VERP.match(sender)[2]  # type: ignore[index]
    forged = [
        f"rebotes+{other.pk}.{tag}@secop.gov.co",  # a real tag, another message's id
        f"rebotes+{email.pk}.{'f' * 12}@secop.gov.co",
        "postmaster@secop.gov.co",
        "someone@example.com",
    ]
    for address in forged:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            _deliver_report(
                port,
                address,
                dsn_samples.postfix_user_unknown(address, user.email, email.message_id),
            )
        assert refused.value.recipients[address][0] == 550
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {EmailStatus.SENT}
    assert not AuditEvent.objects.filter(event="mail.bounced").exists()
    assert address_undeliverable(user) is None
    assert _log(log, f"refused recipient 'rebotes+{other.pk}.{tag}@secop.gov.co'")


@BOUNCE_DB
def test_a_message_that_is_not_a_report_is_dropped_with_a_log_line(
    user, worker, mailbox, verp, bounces_server
):
    port, log = bounces_server
    email, sender = _sent_message(user, worker, mailbox)
    _deliver_report(port, sender, dsn_samples.out_of_office(sender, user.email, email.message_id))
    _deliver_report(port, sender, b"\x00\xff garbage\r\n" * 50)
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and not email.bounce_status
    assert not AuditEvent.objects.filter(event="mail.bounced").exists()
    assert _log(log, "dropped a message to") and _log(log, "not a report (text/plain)")
    # ...and the server is still there for the next report.
    _deliver_report(
        port, sender, dsn_samples.postfix_user_unknown(sender, user.email, email.message_id)
    )
    email.refresh_from_db()
    assert email.status == EmailStatus.BOUNCED


# --- Who sees it -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_fr1_a_bounce_shows_to_help_desk_and_owner_never_on_anonymous_pages(
    user, worker, mailbox, verp
):
    from portero.helpdesk.roles import AGENT_GROUP
    from tests.helpdesk.test_console import _signed_in, _staff
    from tests.recovery.test_request import _submit

    before = _submit(user.username)  # the anonymous answer, before the bounce
    email, sender = _sent_message(user, worker, mailbox)
    # What `portero bounces` does with the report (the tests above run it for real).
    assert (
        bounce_record(
            email.pk,
            report_parse(dsn_samples.postfix_user_unknown(sender, user.email, email.message_id)),
        )
        == "bounced, address flagged"
    )

    console = _signed_in(_staff("agente.uno", AGENT_GROUP))
    page = console.get(f"/mesa/usuario/{user.pk}/").content.decode()
    assert "Rebotado" in page and "<code>5.1.1</code>" in page
    assert "No entregable" in page and "User unknown in virtual mailbox table" in page

    owner = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    signed_in = owner.post(
        "/ingresar/", {"username": user.username, "password": PASSWORD}, follow=True
    )
    assert signed_in.redirect_chain[-1][0] == "/cuenta/", signed_in.redirect_chain
    home = signed_in.content.decode()
    assert f"Nuestro último mensaje a {user.email} fue devuelto" in home
    assert "Mesa de Servicio" in home

    assert _submit(user.username) == before  # FR1: nothing changes for anyone asking
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    for path in ["/ingresar/", "/recuperar/contrasena/", "/recuperar/usuario/"]:
        text = anonymous.get(path).content.decode()
        assert "devuelto" not in text and "5.1.1" not in text, path


@BOUNCE_DB
def test_the_flag_ends_when_the_address_changes_or_a_later_link_is_opened(
    user, worker, mailbox, verp, bounces_server
):
    port, _ = bounces_server
    email, sender = _sent_message(user, worker, mailbox)
    _deliver_report(
        port, sender, dsn_samples.postfix_user_unknown(sender, user.email, email.message_id)
    )
    assert address_undeliverable(user) is not None

    mailbox.clear()
    ask_reset(Client(), user.username)  # the mailbox was re-created: this one arrives
    worker.drain()
    Client().get(link_in(mailbox.messages[0]))
    assert address_undeliverable(user) is None

    _deliver_report(
        port, sender, dsn_samples.postfix_user_unknown(sender, user.email, email.message_id)
    )  # bounced again, later
    assert address_undeliverable(user) is not None
    user.email = "gabriela.gongora@example.org"
    user.save()
    assert address_undeliverable(user) is None
    user.email = "GABRIELA@example.com"  # back to the bounced one, in other case
    assert address_undeliverable(user) is not None
