"""Mi cuenta: the owner's access history, active sessions and notification settings."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portero.accounts.models import User
from portero.accounts.services import user_create
from portero.audit.models import AuditEvent
from portero.core import clock as clock_module
from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.helpers import text_of

pytestmark = pytest.mark.django_db

PHONE = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
LAPTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def _sign_in(agent: str = LAPTOP, ip: str = "190.25.1.7", password: str = PASSWORD) -> Client:
    browser = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)
    response = browser.post("/ingresar/", {"username": "gongoragabriela", "password": password})
    assert response.status_code == 302
    return browser


def _utc_day(days_ago: int = 0) -> str:
    return (clock_module.now() - timedelta(days=days_ago)).astimezone(UTC).date().isoformat()


def test_history_shows_sign_ins_and_failed_attempts_with_device_and_ip(user, clock):
    Client(HTTP_USER_AGENT=PHONE, REMOTE_ADDR="181.50.3.4").post(
        "/ingresar/", {"username": "gongoragabriela", "password": "no es la clave correcta"}
    )
    clock.advance(timedelta(minutes=1))
    browser = _sign_in()
    html = browser.get("/cuenta/historial/").content.decode()
    assert "Ingreso fallido" in html and "181.50.3.4" in html and "Chrome · Android" in html
    assert "Ingresó" in html or "Ingreso" in html
    assert "190.25.1.7" in html and "Firefox · Windows" in html


def test_history_shows_only_my_own_events_and_at_most_50(user):
    other = user_create(username="otra.persona", email="o@example.com", password=PASSWORD)
    Client(REMOTE_ADDR="10.9.9.9").post(
        "/ingresar/", {"username": "otra.persona", "password": PASSWORD}
    )
    for _ in range(55):
        AuditEvent.objects.create(
            event="sign_in.ok",
            outcome="ok",
            user=user,
            actor="x",
            details={"device": "Safari · iPhone"},
        )
    html = _sign_in().get("/cuenta/historial/").content.decode()
    assert "10.9.9.9" not in html
    assert html.count("<tr>") == 51  # header row + 50 events
    assert other.pk != user.pk


def test_history_needs_sign_in():
    assert Client().get("/cuenta/historial/").status_code == 302


def test_sessions_page_lists_sessions_and_closes_the_others(user):
    phone = _sign_in(PHONE, "181.50.3.4")
    laptop = _sign_in(LAPTOP, "190.25.1.7")
    html = laptop.get("/cuenta/sesiones/").content.decode()
    assert "Chrome · Android" in html and "Firefox · Windows" in html
    assert "esta sesión" in html
    response = laptop.post("/cuenta/sesiones/")
    assert response.status_code == 302
    assert phone.get("/cuenta/").status_code == 302  # the phone was signed out
    assert laptop.get("/cuenta/").status_code == 200
    assert AuditEvent.objects.filter(event="sessions.ended", user=user).exists()


def test_new_device_notice_is_sent_and_can_be_turned_off(user, mailbox, worker):
    _sign_in(LAPTOP)  # the first sign-in is not news
    worker.drain()
    assert mailbox.messages == []
    _sign_in(PHONE)
    worker.drain()
    assert len(mailbox.messages) == 1
    body = text_of(mailbox.messages[0])
    assert "Chrome · Android" in body and "/cuenta/notificaciones/" in body

    browser = _sign_in(LAPTOP)
    browser.post("/cuenta/notificaciones/", {})  # unchecked box: off
    assert not User.objects.get(pk=user.pk).notify_new_device
    mailbox.clear()
    _sign_in("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1")
    worker.drain()
    assert mailbox.messages == []


def test_new_device_notice_is_not_sent_after_a_long_absence(user, mailbox, worker, clock):
    _sign_in(LAPTOP)
    clock.advance(timedelta(days=181))  # longer than devices are remembered
    _sign_in(PHONE)
    worker.drain()
    assert mailbox.messages == []


def test_a_sign_in_remembers_its_device_on_the_account(user, clock):
    _sign_in(LAPTOP)
    clock.advance(timedelta(days=2))
    before = clock.now()
    _sign_in(PHONE)
    account = User.objects.get(pk=user.pk)
    assert account.known_devices == {
        "Firefox · Windows": _utc_day(2),
        "Chrome · Android": _utc_day(),
    }
    assert account.last_login is not None and before <= account.last_login <= clock.now()


def test_a_device_unseen_for_over_180_days_is_new_again_and_forgotten(user, mailbox, worker, clock):
    _sign_in(LAPTOP)
    clock.advance(timedelta(days=100))
    _sign_in(PHONE)  # new: a notice
    clock.advance(timedelta(days=81))  # the laptop was last seen 181 days ago
    _sign_in(PHONE)
    assert list(User.objects.get(pk=user.pk).known_devices) == ["Chrome · Android"]
    worker.drain()
    mailbox.clear()
    _sign_in(LAPTOP)
    worker.drain()
    assert len(mailbox.messages) == 1
    assert "Firefox · Windows" in text_of(mailbox.messages[0])


def test_a_sign_in_reads_no_audit_rows(user):
    _sign_in(LAPTOP)  # not the first: the new-device check runs too
    with CaptureQueriesContext(connection) as queries:
        _sign_in(PHONE)
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert reads and not any("audit_auditevent" in sql for sql in reads), reads


def test_security_emails_go_even_with_notices_off(user, mailbox, worker):
    user.notify_new_device = False
    user.save()
    browser = _sign_in()
    browser.post(
        "/cuenta/contrasena/",
        {
            "current_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    worker.drain()
    assert len(mailbox.messages) == 1  # "your password was changed"


def test_notification_settings_page_says_security_emails_always_go(user):
    html = _sign_in().get("/cuenta/notificaciones/").content.decode()
    assert 'type="checkbox"' in html and "siempre" in html
