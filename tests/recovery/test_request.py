"""Asking for a recovery e-mail: same answer for everyone, mail only to the stored address."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.test import Client

from portero.accounts.models import User
from portero.accounts.services import user_create
from portero.audit.models import AuditEvent
from portero.recovery.models import PasswordReset, RecoveryRequest, RequestOutcome
from tests.conftest import PASSWORD
from tests.helpers import text_of

pytestmark = pytest.mark.django_db

CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def _visible(response) -> tuple[int, dict[str, str], bytes]:  # type: ignore[no-untyped-def]
    """Return what a client can observe, minus per-request randomness (CSRF mask, request id)."""
    headers = {k: v for k, v in response.headers.items() if k not in {"Set-Cookie", "X-Request-ID"}}
    return response.status_code, headers, CSRF.sub(b"", response.content)


def _submit(username: str) -> list[tuple[int, dict[str, str], bytes]]:
    client = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    posted = client.post("/recuperar/contrasena/", {"username": username})
    return [_visible(posted), _visible(client.get(posted["Location"]))]


@pytest.fixture
def accounts(user: User) -> dict[str, User]:
    disabled = user_create(username="inactiva", email="x@example.com", password=PASSWORD)
    disabled.is_active = False
    disabled.save()
    no_email = user_create(username="sincorreo", email="", password=PASSWORD)
    return {"known": user, "disabled": disabled, "no_email": no_email}


def test_fr1_unknown_username_gets_identical_response(accounts, mailbox):
    expected = _submit("gongoragabriela")
    for username in ["nadie.existe", "inactiva", "sincorreo", "GONGORAGABRIELA"]:
        assert _submit(username) == expected, username


def _statements(username: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.get("/recuperar/contrasena/")
    with CaptureQueriesContext(connection) as queries:
        client.post("/recuperar/contrasena/", {"username": username})
    # Table and verb of each statement: the same work, whatever the account.
    return [
        re.sub(r'"s\d+_x\d+"', "savepoint", " ".join(q["sql"].split()[:3]))
        for q in queries.captured_queries
    ]


def test_fr1_request_path_does_the_same_queries_for_known_and_unknown(accounts):
    known = _statements("gongoragabriela")
    assert known == _statements("nadie.existe") == _statements("inactiva")
    assert not any("accounts_user" in statement for statement in known)


@pytest.mark.django_db(transaction=True)
def test_request_path_is_the_rate_limit_counters_and_one_insert_in_one_transaction(user):
    # Every statement here is paid by every request; with the counters in Redis, the first two
    # are one round trip to Redis instead.
    counters = (
        []
        if settings.REDIS_URL
        else [
            "INSERT INTO core_ratecounter",  # every rule's current window, one upsert
            "SELECT key, count",  # every rule's previous window, one read
        ]
    )
    statements = [s.replace("BEGIN IMMEDIATE", "BEGIN") for s in _statements("gongoragabriela")]
    assert statements == ["BEGIN", *counters, 'INSERT INTO "recovery_recoveryrequest"', "COMMIT"]


def test_request_path_writes_no_audit_row_the_worker_writes_it(accounts, worker, caplog):
    caplog.set_level("INFO", logger="portero.security")
    response = Client().post("/recuperar/contrasena/", {"username": "gongoragabriela"})
    assert not AuditEvent.objects.exclude(event="account.created").exists()
    logged = json.loads(caplog.records[-1].getMessage())
    assert logged["event"] == "reset.requested"  # the log line is written at once (LG1)

    worker.drain()
    row = AuditEvent.objects.get(event="reset.requested")
    request = RecoveryRequest.objects.get()
    assert row.request_id == response["X-Request-ID"] == logged["request_id"]
    assert (row.created_at, row.ip, row.subject) == (
        request.created_at,
        "127.0.0.1",
        logged["subject"],
    )
    assert row.pk < AuditEvent.objects.get(event="reset.issued").pk


def test_throttled_request_gets_its_audit_row_from_the_worker_too(user, worker, settings):
    settings.PORTERO_RATE_LIMITS = {
        "tiny": {"action": "password_reset", "scope": "account", "limit": 1, "period": 3600},
    }
    for _ in range(2):
        Client().post("/recuperar/contrasena/", {"username": "gongoragabriela"})
    assert RecoveryRequest.objects.filter(processed_at__isnull=True).count() == 2
    worker.drain()
    rows = AuditEvent.objects.filter(event="reset.requested").order_by("pk")
    assert [(r.outcome, r.details["rules"]) for r in rows] == [
        ("accepted", []),
        ("throttled", ["tiny"]),
    ]
    assert PasswordReset.objects.count() == 1


def test_fr1_no_email_is_sent_on_the_request_path(accounts, mailbox, worker):
    Client().post("/recuperar/contrasena/", {"username": "gongoragabriela"})
    assert mailbox.messages == [] and PasswordReset.objects.count() == 0
    worker.drain()
    assert len(mailbox.messages) == 1


def test_fr1_disabled_and_addressless_accounts_get_no_email(accounts, mailbox, worker):
    for username in ["inactiva", "sincorreo", "nadie.existe"]:
        Client().post("/recuperar/contrasena/", {"username": username})
    worker.drain()
    assert mailbox.messages == []
    outcomes = set(RecoveryRequest.objects.values_list("outcome", flat=True))
    assert outcomes == {
        RequestOutcome.ACCOUNT_DISABLED,
        RequestOutcome.NO_EMAIL,
        RequestOutcome.NO_ACCOUNT,
    }


def test_fr1_processed_request_forgets_the_typed_identifier(accounts, worker):
    Client().post("/recuperar/contrasena/", {"username": "nadie.existe"})
    worker.drain()
    request = RecoveryRequest.objects.get()
    assert request.identifier == "" and len(request.identifier_digest) == 64
    assert "nadie" not in request.identifier_digest


def test_fr3_request_changes_nothing_on_the_account(user, mailbox, worker):
    before = User.objects.filter(pk=user.pk).values().get()
    Client().post("/recuperar/contrasena/", {"username": "gongoragabriela"})
    worker.drain()
    assert User.objects.filter(pk=user.pk).values().get() == before
    signed_in = Client().post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    assert signed_in.status_code == 302


@pytest.mark.parametrize(
    "data",
    [
        {"username": ["attacker", "gongoragabriela"]},
        {"username": ["gongoragabriela", "gongoragabriela"]},
        {"username": "gongoragabriela", "email": "attacker@evil.test"},
        {"username": "gongoragabriela\r\nBcc: attacker@evil.test"},
        {"username": "gongoragabriela\nattacker@evil.test"},
        {"username": "gongoragabriela,attacker@evil.test"},
        {"username": "gongoragabrieIa"},  # capital I for l: a look-alike, a different username
    ],
)
def test_fr4_input_never_adds_a_recipient(user, mailbox, worker, data):
    Client().post("/recuperar/contrasena/", data)
    worker.drain()
    recipients = {r for _, rcpts in mailbox.envelopes for r in rcpts}
    assert recipients <= {"gabriela@example.com"}
    for message in mailbox.messages:
        assert message.get_all("To") == ["gabriela@example.com"]
        assert message.get_all("Cc") is None and message.get_all("Bcc") is None


def test_fu1_same_page_whether_address_registered_or_not(user, mailbox):
    def submit(email: str):  # type: ignore[no-untyped-def]
        client = Client()
        posted = client.post("/recuperar/usuario/", {"email": email})
        return [_visible(posted), _visible(client.get(posted["Location"]))]

    assert submit("gabriela@example.com") == submit("nadie@example.com")


def test_fu2_reminder_lists_every_username_of_the_address_and_nothing_else(user, mailbox, worker):
    user_create(username="gongora.compras", email="Gabriela@Example.com", password=PASSWORD)
    user_create(username="otra.persona", email="otra@example.com", password=PASSWORD)
    gone = user_create(username="cuenta.cerrada", email="gabriela@example.com", password=PASSWORD)
    gone.is_active = False
    gone.save()

    Client().post("/recuperar/usuario/", {"email": "GABRIELA@example.com "})
    worker.drain()

    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == "gabriela@example.com"
    body = text_of(message)
    listed = re.findall(r"^\s+- (\S+)$", body, flags=re.M)
    assert listed == ["gongora.compras", "gongoragabriela"]
    assert "otra.persona" not in body and "cuenta.cerrada" not in body
    assert PASSWORD not in body


def test_fu2_unknown_address_gets_no_email(user, mailbox, worker):
    Client().post("/recuperar/usuario/", {"email": "nadie@example.com"})
    worker.drain()
    assert mailbox.messages == []
