"""TK7: the one-time code in the recovery e-mail, for readers on another device."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from portero.recovery.models import PasswordReset
from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.helpers import ask_reset, html_of, link_in, set_password, text_of

pytestmark = pytest.mark.django_db

CODE = re.compile(r"\b(\d{4}) (\d{4})\b")


def _code(message) -> str:  # type: ignore[no-untyped-def]
    found = CODE.search(text_of(message))
    assert found, "no code in the e-mail"
    return found.group(1) + found.group(2)


@pytest.fixture
def email(client, user, mailbox, worker):  # type: ignore[no-untyped-def]
    ask_reset(client, "gongoragabriela")
    worker.drain()
    return mailbox.messages[-1]


def _enter(browser: Client, code: str, username: str = "gongoragabriela"):  # type: ignore[no-untyped-def]
    return browser.post("/restablecer/codigo/", {"username": username, "code": code})


def test_tk7_email_carries_an_8_digit_code_and_where_to_type_it(email):
    code = _code(email)
    assert len(code) == 8
    assert "https://cuentas.portero.test/restablecer/codigo/" in text_of(email)
    assert code[:4] in html_of(email)


def test_tk7_sent_page_offers_the_code_page(client, user):
    page = client.get("/recuperar/contrasena/enviado/").content.decode()
    assert 'href="/restablecer/codigo/"' in page


def test_tk7_code_page_fields_suit_phones_and_password_managers():
    html = Client().get("/restablecer/codigo/").content.decode()
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html
    assert 'autocomplete="username"' in html


def test_tk7_username_and_code_lead_to_the_same_change_password_page(email, user):
    other_device = Client()
    response = _enter(other_device, " " + _code(email)[:4] + "-" + _code(email)[4:] + " ")
    assert response["Location"] == "/restablecer/"
    assert "Nueva contraseña" in other_device.get("/restablecer/").content.decode()
    done = other_device.post(
        "/restablecer/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done["Location"] == "/restablecer/listo/"


def test_tk7_the_code_is_not_stored(email):
    code = _code(email)
    row = PasswordReset.objects.values().get()
    assert code not in str(row)


def test_tk7_five_wrong_codes_kill_that_code(email, user):
    good = _code(email)
    for attempt in range(5):
        wrong = str((int(good) + attempt + 1) % 10**8).zfill(8)
        assert _enter(Client(), wrong).status_code == 200
    response = _enter(Client(), good)
    assert response.status_code == 200
    assert "no es válido" in response.content.decode()
    # the link itself still works: only the code died
    assert set_password(Client(), link_in(email), NEW_PASSWORD)["Location"] == "/restablecer/listo/"


def test_tk7_code_is_single_use_and_dies_with_the_reset(email, user):
    browser = Client()
    _enter(browser, _code(email))
    browser.post("/restablecer/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert _enter(Client(), _code(email)).status_code == 200


def test_tk7_codes_follow_the_no_trap_rule(client, user, mailbox, worker):
    ask_reset(client, "gongoragabriela")
    ask_reset(client, "gongoragabriela")
    worker.drain()
    first, second = (_code(m) for m in mailbox.messages)
    assert first != second
    assert _enter(Client(), first)["Location"] == "/restablecer/"
    assert _enter(Client(), second)["Location"] == "/restablecer/"


def test_tk7_expired_code_is_refused(email, user, clock):
    clock.advance(timedelta(minutes=61))
    assert _enter(Client(), _code(email)).status_code == 200


def test_tk7_code_of_one_account_does_not_open_another(email, user):
    from portero.accounts.services import user_create

    user_create(username="otra.persona", email="o@example.com", password=PASSWORD)
    assert _enter(Client(), _code(email), username="otra.persona").status_code == 200


def test_tk7_guesses_are_throttled_per_account(email, user):
    for attempt in range(10):
        _enter(Client(REMOTE_ADDR=f"203.0.113.{attempt}"), "00000000")
    # the right code now gets the same refusal until the hour passes
    assert _enter(Client(REMOTE_ADDR="203.0.113.200"), _code(email)).status_code == 200


def test_tk7_guesses_are_throttled_per_address(email, user):
    for attempt in range(30):
        _enter(Client(REMOTE_ADDR="198.51.100.9"), "11111111", username=f"u{attempt}")
    assert _enter(Client(REMOTE_ADDR="198.51.100.9"), _code(email)).status_code == 200
    assert _enter(Client(REMOTE_ADDR="198.51.100.10"), _code(email)).status_code == 302


@pytest.mark.parametrize(
    "code", ["", "1234", "abcdefgh", "123456789", "１２３４５６７８", "x" * 5000]
)
def test_tk7_malformed_codes_get_a_clear_message(user, code):
    response = _enter(Client(), code)
    assert response.status_code == 200
    assert 'class="error-summary"' in response.content.decode()
