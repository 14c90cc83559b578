"""LG1-LG4: one structured event per security action, no secrets, unforgeable, purged."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from portero.audit.models import AuditEvent
from portero.core.security_log import mask_email
from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.helpers import ask_reset, link_in, set_password, text_of

pytestmark = pytest.mark.django_db


def _events(caplog) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "portero.security"]


def test_lg1_each_security_action_is_one_structured_event(user, client, mailbox, worker, caplog):
    caplog.set_level(logging.INFO, logger="portero.security")
    Client().post("/ingresar/", {"username": "gongoragabriela", "password": "mal " * 5})
    Client().post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    ask_reset(client, "gongoragabriela")
    worker.drain()
    set_password(Client(), link_in(mailbox.messages[0]), NEW_PASSWORD)
    worker.drain()
    Client().post("/recuperar/usuario/", {"email": "gabriela@example.com"})
    worker.drain()
    Client(enforce_csrf_checks=True).post("/ingresar/", {"username": "x"})

    events = _events(caplog)
    names = [e["event"] for e in events]
    for expected in [
        "sign_in.failed",
        "sign_in.ok",
        "reset.requested",
        "reset.issued",
        "mail.sent",
        "reset.link_opened",
        "password.changed",
        "reset.completed",
        "username_reminder.requested",
        "username_reminder.issued",
        "csrf.failed",
    ]:
        assert expected in names, expected
    for event in events:
        assert {"time", "event", "outcome", "actor", "subject", "ip", "request_id"} <= set(event)
        assert event["time"].endswith("+00:00")  # UTC
    web_events = [e for e in events if e["event"] in {"sign_in.ok", "reset.requested"}]
    assert all(len(e["request_id"]) == 32 and e["ip"] == "127.0.0.1" for e in web_events)
    # the same events are kept in the audit table
    assert AuditEvent.objects.filter(event="password.changed", user=user).count() == 1


def test_lg1_request_id_is_returned_to_the_client(user, caplog):
    caplog.set_level(logging.INFO, logger="portero.security")
    response = Client().post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    assert _events(caplog)[-1]["request_id"] == response["X-Request-ID"]


def test_lg2_no_password_token_code_or_session_id_in_the_logs(
    user, client, mailbox, worker, caplog
):
    caplog.set_level(logging.DEBUG)
    canary = "canario secreto del registro 4417"
    Client().post("/ingresar/", {"username": "gongoragabriela", "password": canary})
    ask_reset(client, "gongoragabriela")
    worker.drain()
    message = mailbox.messages[0]
    link = link_in(message)
    token = link.rstrip("/").rsplit("/", 1)[1]
    found = re.search(r"\b(\d{4}) (\d{4})\b", text_of(message))
    assert found, "no code in the e-mail"
    code = found.group(1) + found.group(2)
    browser = Client()
    set_password(browser, link, canary)
    signed_in = Client()
    signed_in.post("/ingresar/", {"username": "gongoragabriela", "password": canary})
    logged = caplog.text + " ".join(str(e.details) for e in AuditEvent.objects.all())
    for secret in filter(
        None, [canary, token, token.split(".")[1], code, signed_in.session.session_key]
    ):
        assert secret not in logged, secret
    assert "gabriela@example.com" not in logged


def test_lg2_emails_are_masked():
    assert mask_email("gabriela@example.com") == "g***@example.com"
    assert mask_email("not-an-address") == "***"


def test_lg3_input_cannot_forge_a_log_line(user, caplog):
    caplog.set_level(logging.INFO, logger="portero.security")
    forged = 'x\r\n{"event": "sign_in.ok", "actor": "user:1"}\n'
    Client(HTTP_USER_AGENT=forged).post("/ingresar/", {"username": forged, "password": "y" * 20})
    Client().post("/ingresar/", {"username": 'a"b', "password": "z" * 20})
    lines = [r.getMessage() for r in caplog.records if r.name == "portero.security"]
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert [json.loads(line)["event"] for line in lines] == ["sign_in.failed", "sign_in.failed"]


def test_lg4_purge_keeps_the_retention_period(user, clock, settings):
    settings.PORTERO_AUDIT_RETENTION_DAYS = 365
    Client().post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    clock.advance(timedelta(days=300))
    Client().post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    clock.advance(timedelta(days=100))
    out = io.StringIO()
    call_command("audit", "purge", stdout=out)
    # The account's creation and the first sign-in are past the retention period.
    assert "deleted 2 event(s) older than 365 days" in out.getvalue()
    assert AuditEvent.objects.filter(event="sign_in.ok").count() == 1
