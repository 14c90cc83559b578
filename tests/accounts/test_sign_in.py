"""Sign-in: one generic failure, the same hashing work for every kind of failure."""

from __future__ import annotations

import pytest
from django.test import Client

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
    return response.status_code, body[start:body.index("</div>", start)]


@pytest.mark.parametrize("username,password", [
    ("nadie.existe", PASSWORD),  # unknown
    ("inactiva", PASSWORD),  # disabled, right password
    ("importada", PASSWORD),  # no password yet
    ("NADIE", "x"),
])
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


@pytest.mark.parametrize("target,expected", [
    ("/cuenta/contrasena/", "/cuenta/contrasena/"),
    ("https://evil.test/", "/cuenta/"),
    ("//evil.test/", "/cuenta/"),
    ("/\\evil.test", "/cuenta/"),
])
def test_li4_next_goes_only_to_paths_on_this_site(population, target, expected):
    response = Client().post(f"/ingresar/?next={target}",
                             {"username": "gongoragabriela", "password": PASSWORD})
    assert response["Location"] == expected


def test_sign_out_ends_the_session_on_the_server(population):
    browser = Client()
    browser.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    key = browser.session.session_key
    browser.post("/salir/")
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=key).exists()
    assert browser.get("/cuenta/").status_code == 302
