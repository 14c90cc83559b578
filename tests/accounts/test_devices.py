"""The devices an account remembers: the new-device rule, every way in, and the seeding."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.contrib.auth import login
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from portero.accounts.models import User
from portero.accounts.notices import device_is_new, devices_remembered
from portero.accounts.services import user_create, user_sign_in_remember
from portero.audit.models import AuditEvent
from tests.conftest import PASSWORD

NOW = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)  # still 28 February in Bogotá
LAPTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def _day(days_ago: int, now: datetime = NOW) -> str:
    return (now - timedelta(days=days_ago)).astimezone(UTC).date().isoformat()


def _account(**known: str) -> User:
    return User(known_devices=known)


@pytest.mark.parametrize(("days_ago", "new"), [(0, False), (180, False), (181, True)])
def test_a_device_is_new_once_unseen_for_longer_than_remembered(days_ago, new):
    user = _account(Firefox=_day(days_ago))
    assert device_is_new(user, "Firefox", previous_sign_in=NOW - timedelta(days=1), now=NOW) is new


def test_a_device_never_seen_is_new():
    assert device_is_new(
        _account(Firefox=_day(0)), "Chrome", previous_sign_in=NOW - timedelta(days=1), now=NOW
    )


@pytest.mark.parametrize("previous", [None, NOW - timedelta(days=181)])
def test_a_first_sign_in_or_one_after_a_long_absence_is_not_news(previous):
    assert not device_is_new(_account(), "Chrome", previous_sign_in=previous, now=NOW)


def test_remembering_a_device_dates_it_today_in_utc_and_forgets_the_old_ones():
    known = {"Firefox": _day(181), "Chrome": _day(180), "Safari": _day(3)}
    assert devices_remembered(known, "Safari", NOW) == {"Chrome": _day(180), "Safari": "2026-03-01"}
    assert known["Safari"] == _day(3)  # a new dict: the caller's is left as it was


def _request(user_agent: str = LAPTOP):
    request = RequestFactory().post("/", HTTP_USER_AGENT=user_agent)
    request.session = SessionStore()
    return request


def _account_updates(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("UPDATE") and "accounts_user" in q["sql"]
    ]


def test_a_sign_in_writes_last_login_and_the_device_in_one_update(user, clock):
    """The sign-in flow writes them itself (accounts.services.user_sign_in_remember)."""
    before = clock.now()
    with CaptureQueriesContext(connection) as queries:
        Client(HTTP_USER_AGENT=LAPTOP).post(
            "/ingresar/", {"username": user.username, "password": PASSWORD}
        )
    assert len(_account_updates(queries)) == 1, _account_updates(queries)
    account = User.objects.get(pk=user.pk)
    assert account.last_login is not None and before <= account.last_login <= clock.now()
    assert account.known_devices == {"Firefox · Windows": _day(0, clock.now())}


def test_djangos_own_last_login_receiver_stays_disconnected(user):
    """Else every sign-in would write last_login twice: Django's login() writes nothing on
    the account here, the sign-in flow does."""
    with CaptureQueriesContext(connection) as queries:
        login(_request(), user, backend="portero.accounts.backends.UsernameBackend")
    assert _account_updates(queries) == []


def test_remembering_a_sign_in_updates_the_instance_in_memory_too(user, clock):
    user_sign_in_remember(user=user, device="Firefox · Windows")
    account = User.objects.get(pk=user.pk)
    assert user.last_login is not None and account.last_login == user.last_login
    assert (
        user.known_devices == account.known_devices == {"Firefox · Windows": _day(0, clock.now())}
    )


def test_a_sign_in_without_a_device_keeps_the_devices(user, clock):
    User.objects.filter(pk=user.pk).update(known_devices={"Safari": _day(3, clock.now())})
    user.refresh_from_db()
    user_sign_in_remember(user=user, device=None)
    account = User.objects.get(pk=user.pk)
    assert account.last_login is not None
    assert account.known_devices == {"Safari": _day(3, clock.now())}


def test_the_migration_seeds_devices_from_the_last_180_days_of_sign_ins(user, clock):
    other = user_create(username="otra.persona", email="o@example.com", password=PASSWORD)
    quiet = user_create(username="sin.ingresos", email="q@example.com", password=PASSWORD)
    now = clock.now()
    for account, event, device, days_ago in [
        (user, "sign_in.ok", "Firefox · Windows", 10),
        (user, "sign_in.ok", "Firefox · Windows", 3),  # the latest counts
        (user, "sign_in.ok", "Firefox · Windows", 20),
        (user, "sign_in.ok", "Chrome · Android", 170),
        (user, "sign_in.ok", "Safari · iPhone", 181),  # forgotten already
        (user, "sign_in.failed", "Edge · Windows", 1),  # not a sign-in
        (other, "sign_in.ok", "", 5),  # an unrecognised browser is a device too
        (None, "sign_in.ok", "Opera · Linux", 1),
        (quiet, "sign_in.ok", "Chrome · Android", 200),
    ]:
        AuditEvent.objects.create(
            event=event,
            outcome="ok",
            user=account,
            actor="x",
            created_at=now - timedelta(days=days_ago),
            details={"device": device},
        )
    migration = importlib.import_module("portero.accounts.migrations.0004_user_known_devices")
    migration.seed_known_devices(apps, None)
    assert User.objects.get(pk=user.pk).known_devices == {
        "Firefox · Windows": _day(3, now),
        "Chrome · Android": _day(170, now),
    }
    assert User.objects.get(pk=other.pk).known_devices == {"": _day(5, now)}
    assert User.objects.get(pk=quiet.pk).known_devices == {}
