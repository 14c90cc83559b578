"""Sign-in: one generic failure, the same work for every kind of failure, one transaction and
a bounded number of queries for a success."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portero.accounts import flows
from portero.accounts.models import SessionRecord, SignInThrottle, User
from portero.accounts.services import user_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def population(user):  # type: ignore[no-untyped-def]
    disabled = user_create(username="inactiva", email="i@example.com", password=PASSWORD)
    disabled.is_active = False
    disabled.save()
    user_create(username="importada", email="imp@example.com")  # no password yet
    return user


def _failure(username: str, password: str) -> tuple[int, str]:
    response = Client().post("/ingresar/", {"username": username, "password": password})
    body = response.content.decode()
    start = body.index('<div class="error-summary"')
    return response.status_code, body[start : body.index("</div>", start)]


@pytest.mark.parametrize(
    "username,password",
    [
        ("nadie.existe", PASSWORD),  # unknown
        ("inactiva", PASSWORD),  # disabled, right password
        ("importada", PASSWORD),  # no password yet
        ("NADIE", "x"),
    ],
)
def test_li1_every_failure_looks_like_a_wrong_password(population, username, password):
    assert _failure(username, password) == _failure("gongoragabriela", "contraseña equivocada")


@pytest.mark.parametrize("username", ["gongoragabriela", "nadie.existe", "inactiva", "importada"])
def test_li1_every_failure_costs_one_password_hash(population, hash_calls, username):
    Client().post("/ingresar/", {"username": username, "password": "contraseña equivocada"})
    assert hash_calls == ["hash"]


def test_li1_message_is_generic(population):
    status, summary = _failure("nadie.existe", "x")
    assert status == 200
    assert "usuario o la contraseña" in summary.lower()


def test_sign_in_is_case_insensitive_and_rotates_the_session(population):
    browser = Client()
    browser.get("/ingresar/")
    browser.session.save()
    before = browser.session.session_key
    response = browser.post("/ingresar/", {"username": "GongoraGabriela", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/cuenta/"
    assert browser.session.session_key != before
    assert "gongoragabriela" in browser.get("/cuenta/").content.decode()


@pytest.mark.parametrize(
    "target,expected",
    [
        ("/cuenta/contrasena/", "/cuenta/contrasena/"),
        ("https://evil.test/", "/cuenta/"),
        ("//evil.test/", "/cuenta/"),
        ("/\\evil.test", "/cuenta/"),
    ],
)
def test_li4_next_goes_only_to_paths_on_this_site(population, target, expected):
    response = Client().post(
        f"/ingresar/?next={target}", {"username": "gongoragabriela", "password": PASSWORD}
    )
    assert response["Location"] == expected


def test_sign_out_ends_the_session_on_the_server(population):
    browser = Client()
    browser.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    key = browser.session.session_key
    browser.post("/salir/")
    assert not Session.objects.filter(session_key=key).exists()
    assert browser.get("/cuenta/").status_code == 302


# Before the hash: the account's throttle, the address's rate limit (when counted in the
# database), the account. After it, whether the account has a second factor (one query). Then
# one transaction: last_login with the device (the new-device check reads the loaded row), the
# session row, its record and the audit row (one INSERT: the worker seals it into the chain
# later, so sign-ins never wait for each other), between BEGIN and COMMIT.
SIGN_IN_QUERIES = 10
# After the commit, the sign-in steps read what they need (PORTERO_AFTER_SIGN_IN_STEPS): the
# company selector, one SELECT of the person's memberships; nothing is written when there is
# nothing to choose; and whether an assisted recovery waits for a new factor (MF4, one query).
AFTER_SIGN_IN_READS = 2
# A failure: the same three reads (the account's, if any, names the owner of the attempt),
# then one transaction counting the failure per typed username and per address, and
# recording the event.
FAILED_SIGN_IN_QUERIES = 9
WRITES = ("INSERT", "UPDATE", "DELETE")


def _statements(username: str, password: str) -> list[str]:
    browser = Client()
    with CaptureQueriesContext(connection) as queries:
        browser.post("/ingresar/", {"username": username, "password": password})
    return [query["sql"].split()[0].upper() for query in queries.captured_queries]


@pytest.mark.django_db(transaction=True)  # real BEGIN and COMMIT, as in production
def test_a_sign_in_stays_within_its_query_budget_in_one_transaction(user):
    _statements("gongoragabriela", PASSWORD)  # not the first: the new-device check runs too
    statements = _statements("gongoragabriela", PASSWORD)
    assert len(statements) <= SIGN_IN_QUERIES + AFTER_SIGN_IN_READS, statements
    commit = statements.index("COMMIT")
    assert statements.count("BEGIN") == 1 and commit < SIGN_IN_QUERIES, statements
    assert set(statements[commit + 1 :]) <= {"SELECT"}, statements
    begin = statements.index("BEGIN")
    assert all(begin < n for n, verb in enumerate(statements) if verb in WRITES), statements


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("username", ["gongoragabriela", "nadie.existe"])
def test_a_failed_sign_in_stays_within_its_query_budget(user, username):
    _statements("gongoragabriela", PASSWORD)
    assert len(_statements(username, "contraseña equivocada")) <= FAILED_SIGN_IN_QUERIES


def test_li1_known_and_unknown_usernames_cost_the_same_queries(user):
    _statements("gongoragabriela", "contraseña equivocada")
    _statements("nadie.existe", "contraseña equivocada")
    assert _statements("gongoragabriela", "contraseña equivocada") == _statements(
        "nadie.existe", "contraseña equivocada"
    )


def test_li2_a_success_with_no_failures_to_forget_deletes_nothing(user):
    assert "DELETE" not in _statements("gongoragabriela", PASSWORD)


def test_li2_failures_count_one_by_one(user):
    for expected in (1, 2, 3):
        _statements("GongoraGabriela ", "contraseña equivocada")
        assert SignInThrottle.objects.get().failures == expected


def test_a_sign_in_that_cannot_be_recorded_leaves_nothing_behind(user, monkeypatch):
    def audit_down(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit log is unavailable")

    Client().post("/ingresar/", {"username": "gongoragabriela", "password": "equivocada"})
    monkeypatch.setattr(flows, "event_record", audit_down)
    with pytest.raises(RuntimeError):
        Client().post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    assert not Session.objects.exists() and not SessionRecord.objects.exists()
    assert User.objects.get(pk=user.pk).last_login is None
    assert SignInThrottle.objects.get().failures == 1  # the reset was rolled back as well


def test_signing_in_again_in_the_same_browser_keeps_one_session_with_a_new_key(user):
    browser = Client()
    browser.post("/ingresar/", {"username": user.username, "password": PASSWORD})
    first_key, sid = browser.session.session_key, browser.session[flows.SID]
    assert browser.get("/ingresar/").status_code == 200  # a bookmark, a portal's "Ingresar"
    again = browser.post("/ingresar/", {"username": user.username, "password": PASSWORD})
    assert again.status_code == 302  # once an IntegrityError (the same session key) and a 500
    assert browser.session.session_key != first_key  # SE1: a new id at every sign-in
    assert browser.session[flows.SID] == sid  # the same session to the portals
    assert list(SessionRecord.objects.values_list("session_key", flat=True)) == [
        browser.session.session_key
    ]
    assert not Session.objects.filter(session_key=first_key).exists()


def test_signing_in_as_someone_else_ends_the_first_persons_session(user):
    other = user_create(username="otra.persona", email="o@example.com", password=PASSWORD)
    browser = Client()
    browser.post("/ingresar/", {"username": user.username, "password": PASSWORD})
    first_sid = browser.session[flows.SID]
    browser.post("/ingresar/", {"username": other.username, "password": PASSWORD})
    assert browser.get("/cuenta/").context["user"] == other
    assert browser.session[flows.SID] != first_sid
    assert list(SessionRecord.objects.values_list("user__username", flat=True)) == ["otra.persona"]
