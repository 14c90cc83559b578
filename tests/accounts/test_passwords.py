"""Password policy on every path that sets one, and how passwords are stored."""

from __future__ import annotations

import unicodedata

import pytest
from django.test import Client, override_settings

from portero.accounts.models import User
from tests.conftest import PASSWORD
from tests.helpers import ask_reset, link_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def reset_page(client, user, mailbox, worker) -> Client:
    """A browser holding an opened recovery link for the user."""
    ask_reset(client, "gongoragabriela")
    worker.drain()
    browser = Client()
    browser.get(link_in(mailbox.messages[0]))
    return browser


def _choose(browser: Client, password: str):  # type: ignore[no-untyped-def]
    return browser.post("/restablecer/", {"new_password1": password, "new_password2": password})


def test_pw1_fewer_than_15_code_points_is_refused(reset_page, user):
    short = "ñandú árbol 🌳🌳"  # 14 code points, though 22 bytes and 16 UTF-16 units
    assert len(short) == 14
    response = _choose(reset_page, short)
    assert response.status_code == 200
    assert "15" in response.content.decode()
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_pw1_15_code_points_including_emoji_are_enough(reset_page, user):
    password = "ñandú árbol 🌳🌳🌳"[:15]
    assert len(password) == 15
    assert _choose(reset_page, password)["Location"] == "/restablecer/listo/"
    assert User.objects.get(pk=user.pk).check_password(password)


def test_pw1_128_characters_are_accepted(reset_page, user):
    password = ("palabras largas de una frase " * 6)[:128]
    assert _choose(reset_page, password)["Location"] == "/restablecer/listo/"


def test_pw1_over_1024_characters_refused_before_any_hashing(reset_page, user, hash_calls):
    response = _choose(reset_page, "a" * 1025)
    assert response.status_code == 200
    assert "1024" in response.content.decode()
    assert hash_calls == []
    signin = Client().post("/ingresar/", {"username": "gongoragabriela", "password": "b" * 5000})
    assert signin.status_code == 200 and hash_calls == []


def test_pw2_no_composition_rules(reset_page, user):
    assert _choose(reset_page, "solo letras minusculas sin numeros")["Location"] == (
        "/restablecer/listo/"
    )


def test_pw2_password_is_nfc_normalised_and_never_changed_otherwise(reset_page, user):
    decomposed = unicodedata.normalize("NFD", "Canción De Montaña  Alta")
    composed = unicodedata.normalize("NFC", decomposed)
    assert decomposed != composed
    assert _choose(reset_page, decomposed)["Location"] == "/restablecer/listo/"
    stored = User.objects.get(pk=user.pk)
    assert stored.check_password(composed) and stored.check_password(decomposed)
    assert not stored.check_password(composed.lower())  # case kept
    assert not stored.check_password(composed.strip() + " ")  # spaces kept, not trimmed
    assert not stored.check_password(composed[:-1])  # not truncated


def test_pw4_new_password_must_differ_from_current(reset_page, user):
    response = _choose(reset_page, PASSWORD)
    assert response.status_code == 200
    assert "diferente" in response.content.decode().lower()


def test_pw4_fields_allow_paste_and_password_managers(reset_page):
    html = reset_page.get("/restablecer/").content.decode()
    assert html.count('autocomplete="new-password"') == 2
    assert 'autocomplete="username"' in html
    assert "onpaste" not in html


def test_pw5_stored_as_argon2id_with_at_least_the_floor_parameters(user):
    algorithm, variant, _version, params, salt, _digest = user.password.split("$")
    assert (algorithm, variant) == ("argon2", "argon2id")
    values = dict(item.split("=") for item in params.split(","))
    assert int(values["m"]) >= 19456 and int(values["t"]) >= 2 and int(values["p"]) >= 1
    other = User.objects.create_user("otra.persona", "o@example.com", PASSWORD)
    assert other.password.split("$")[4] != salt  # unique salts
    assert other.password != user.password


def test_pw5_raised_parameters_rehash_on_next_sign_in(user):
    before = user.password
    with override_settings(PORTERO_ARGON2_MEMORY_KIB=24576, PORTERO_ARGON2_TIME_COST=3):
        response = Client().post(
            "/ingresar/", {"username": "gongoragabriela", "password": PASSWORD}
        )
        assert response.status_code == 302
    after = User.objects.get(pk=user.pk).password
    assert after != before and "m=24576,t=3,p=1" in after
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_pw1_same_policy_for_change_password(user):
    browser = Client()
    browser.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    response = browser.post(
        "/cuenta/contrasena/",
        {
            "current_password": PASSWORD,
            "new_password1": "corta",
            "new_password2": "corta",
        },
    )
    assert response.status_code == 200
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


@pytest.mark.parametrize("throttled", [False, True])
def test_cp1_wrong_or_throttled_current_password_reveals_nothing_about_it(
    user, settings, throttled
):
    # Were the new password still compared with the current one, "must be different" would
    # confirm a guess, even while the account is locked against guessing.
    browser = Client()
    browser.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    if throttled:
        for _ in range(6):
            browser.post(
                "/cuenta/contrasena/",
                {
                    "current_password": "no es la clave 123",
                    "new_password1": "x",
                    "new_password2": "x",
                },
            )
    page = browser.post(
        "/cuenta/contrasena/",
        {
            "current_password": "no es la clave 123",
            "new_password1": PASSWORD,
            "new_password2": PASSWORD,
        },
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert "current password is not correct" in page
    assert "different from the current one" not in page
