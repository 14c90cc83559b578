"""Sessions: fresh id, strict cookies, idle and absolute timeouts, server-side sign-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client

from tests.config.test_settings import _run
from tests.conftest import PASSWORD

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
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_NAME, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0)")
    result = _run(["-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["__Host-portero_session", "True", "__Host-portero_csrf",
                                     "True", "True"]


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
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    browser, _ = _sign_in()
    Session.objects.filter(session_key=browser.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1))
    assert browser.get("/cuenta/").status_code == 302


def test_expired_sessions_and_their_records_are_purged(user):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from portero.accounts.models import SessionRecord
    from portero.accounts.services import sessions_purge_expired

    old, _ = _sign_in()
    current, _ = _sign_in()
    Session.objects.filter(session_key=old.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1))
    assert sessions_purge_expired() == 1
    assert list(SessionRecord.objects.values_list("session_key", flat=True)) == [
        current.session.session_key]
