"""Bad input on every form gets a clear message in the user's language, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.helpers import ask_reset, link_in

pytestmark = pytest.mark.django_db

HUGE = "a" * 10_000
BAD_VALUES = ["", "   ", HUGE, "gongora\x00gabriela", "💥" * 200]


def _open_link(client, mailbox, worker) -> Client:  # type: ignore[no-untyped-def]
    ask_reset(client, "gongoragabriela")
    worker.drain()
    browser = Client()
    browser.get(link_in(mailbox.messages[0]))
    return browser


FORMS = {
    "/ingresar/": ["username", "password"],
    "/recuperar/contrasena/": ["username"],
    "/recuperar/usuario/": ["email"],
}


@pytest.mark.parametrize("path,fields", FORMS.items())
@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_values_get_a_message_not_an_error(user, path, fields, value):
    response = Client().post(path, {name: value for name in fields})
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert 'class="error-summary"' in html
    assert 'lang="es-CO"' in html


@pytest.mark.parametrize("path,fields", FORMS.items())
def test_arrays_and_unexpected_fields_are_harmless(user, path, fields):
    data = {name: ["uno", "dos", HUGE] for name in fields}
    data["extra[]"] = ["x", "y"]
    response = Client().post(path, data)
    assert response.status_code in {200, 302}


@pytest.mark.parametrize("path", list(FORMS))
@pytest.mark.parametrize(
    "body,content_type",
    [
        ('{"username": ["a"], "password": 5}', "application/json"),
        ("\x00\x01\x02", "application/octet-stream"),
        ("username=%ZZ%00&&&==", "application/x-www-form-urlencoded"),
        ("username=%ED%A0%80&email=%FF%FE&password=%C0", "application/x-www-form-urlencoded"),
        (
            '--xx\r\nContent-Disposition: form-data; name="username"\r\n\r\nabc',
            "multipart/form-data; boundary=xx",
        ),
    ],
)
def test_wrong_body_types_never_give_a_500(user, path, body, content_type):
    response = Client().post(path, body, content_type=content_type)
    assert response.status_code in {200, 302, 400}


def test_huge_body_is_refused_with_our_page(user):
    response = Client().post("/recuperar/contrasena/", {"username": "x" * 200_000})
    assert response.status_code == 400
    assert "solicitud" in response.content.decode().lower()


@pytest.mark.parametrize("value", ["", "   ", HUGE, "corta\x00nula larga", ["x", "y"]])
def test_reset_form_handles_bad_values(user, client, mailbox, worker, value):
    browser = _open_link(client, mailbox, worker)
    response = browser.post("/restablecer/", {"new_password1": value, "new_password2": value})
    assert response.status_code == 200
    assert 'class="error-summary"' in response.content.decode()


def test_change_password_form_handles_bad_values(user):
    browser = Client()
    browser.post(
        "/ingresar/", {"username": "gongoragabriela", "password": "una frase larga y secreta 2026"}
    )
    for value in BAD_VALUES:
        response = browser.post(
            "/cuenta/contrasena/",
            {
                "current_password": value,
                "new_password1": value,
                "new_password2": value,
            },
        )
        assert response.status_code == 200


@pytest.mark.parametrize("token", ["x", "a" * 2000, "%00", "..", "a.b", "ñ.ñ", "\u202e"])
def test_malformed_links_get_the_invalid_link_page(token):
    browser = Client()
    assert browser.get(f"/restablecer/{token}/").status_code in {302, 404}
    assert browser.get("/restablecer/").status_code == 404
