"""Sessions: fresh id, strict cookies, idle and absolute timeouts, server-side sign-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portero.accounts import sessions
from portero.accounts.flows import SIGNED_IN_AT
from portero.accounts.models import SessionRecord
from portero.accounts.sessions import SessionStore
from tests.config.test_settings import _run
from tests.conftest import NEW_PASSWORD, PASSWORD

pytestmark = pytest.mark.django_db


def _sign_in() -> tuple[Client, object]:
    browser = Client()
    response = browser.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    assert response.status_code == 302
    return browser, response


def test_se1_session_cookie_is_httponly_lax_and_long(user):
    _, response = _sign_in()
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]  # type: ignore[attr-defined]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["secure"] and cookie.key.startswith("__Host-")  # the tests' base URL is https
    assert cookie["path"] == "/"
    assert len(cookie.value) >= 32  # 32 chars of [a-z0-9]: about 165 bits
    assert not cookie["domain"]  # host-only


def test_se1_https_deployments_get_secure_host_prefixed_cookies_and_hsts():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_NAME, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0)"
    )
    result = _run(["-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "__Host-portero_session",
        "True",
        "__Host-portero_csrf",
        "True",
        "True",
    ]


def test_se2_idle_timeout_is_30_minutes_and_slides(user):
    browser, _ = _sign_in()
    assert browser.session.get_expiry_age() == 30 * 60
    assert browser.get("/cuenta/").status_code == 200


def test_se2_absolute_timeout_signs_out_after_12_hours(user, clock):
    browser, _ = _sign_in()
    clock.advance(timedelta(hours=11, minutes=59))
    assert browser.get("/cuenta/").status_code == 200
    clock.advance(timedelta(minutes=2))
    assert browser.get("/cuenta/").status_code == 302


def test_se2_expired_session_on_the_server_is_refused(user):
    browser, _ = _sign_in()
    Session.objects.filter(session_key=browser.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert browser.get("/cuenta/").status_code == 302


def test_expired_sessions_and_their_records_are_purged(user):
    from portero.accounts.services import sessions_purge_expired

    old, _ = _sign_in()
    current, _ = _sign_in()
    Session.objects.filter(session_key=old.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert sessions_purge_expired() == 1
    assert list(SessionRecord.objects.values_list("session_key", flat=True)) == [
        current.session.session_key
    ]


def test_se1_sign_in_writes_its_session_row_once_with_everything_in_it(user):
    browser = Client()
    with CaptureQueriesContext(connection) as queries:
        browser.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    touching = [q["sql"] for q in queries.captured_queries if "django_session" in q["sql"]]
    assert len(touching) == 1 and touching[0].startswith("INSERT"), touching
    data = Session.objects.get(session_key=browser.session.session_key).get_decoded()
    assert data["_auth_user_id"] == str(user.pk) and SIGNED_IN_AT in data


def test_se1_sign_in_replaces_the_session_id_the_browser_came_with(user):
    browser = Client()
    anonymous = browser.session
    anonymous["seen"] = True
    anonymous.save()
    response = browser.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    assert response.cookies[settings.SESSION_COOKIE_NAME].value != anonymous.session_key
    assert not Session.objects.filter(session_key=anonymous.session_key).exists()

    planted = Client()  # a fixation attempt: an id the server never issued
    planted.cookies[settings.SESSION_COOKIE_NAME] = "a" * 32
    response = planted.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    assert response.cookies[settings.SESSION_COOKIE_NAME].value != "a" * 32


def test_se1_a_new_session_never_takes_over_an_existing_one(db, monkeypatch):
    taken = SessionStore()
    taken["owner"] = "someone"
    taken.save()
    monkeypatch.setattr(sessions, "get_random_string", lambda *args: taken.session_key)
    intruder = SessionStore()
    intruder["owner"] = "intruder"
    with pytest.raises(CreateError), transaction.atomic():
        intruder.save()
    assert SessionStore(taken.session_key).load() == {"owner": "someone"}


def test_se2_each_signed_in_request_pushes_the_idle_timeout_back(user):
    browser, _ = _sign_in()
    row = Session.objects.filter(session_key=browser.session.session_key)
    row.update(expire_date=timezone.now() + timedelta(minutes=5))
    assert browser.get("/cuenta/").status_code == 200
    assert row.get().expire_date > timezone.now() + timedelta(minutes=29)


def test_se3_after_a_password_change_this_session_is_still_known(user, mailbox):
    browser, _ = _sign_in()
    browser.post(
        "/cuenta/contrasena/",
        {
            "current_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    key = browser.session.session_key
    assert list(SessionRecord.objects.values_list("session_key", flat=True)) == [key]
    assert Session.objects.filter(session_key=key).exists()
    assert browser.get("/cuenta/").status_code == 200
