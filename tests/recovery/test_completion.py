"""Completing a reset: only with a valid secret, never signs in, notifies, ends sessions."""

from __future__ import annotations

import logging
import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from portero.accounts.models import SessionRecord, User
from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.helpers import ask_reset, html_of, link_in, set_password, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(client, user, mailbox, worker) -> str:
    """A fresh recovery link for the user; the mailbox is left empty."""
    ask_reset(client, "gongoragabriela")
    worker.drain()
    found = link_in(mailbox.messages[-1])
    mailbox.clear()
    return found


def _password_unchanged(user: User) -> bool:
    return User.objects.get(pk=user.pk).check_password(PASSWORD)


@pytest.mark.parametrize("session_value", [None, "", "x" * 22, ["a"], {"a": 1}, 12])
def test_fc1_no_valid_secret_no_change(user, session_value):
    browser = Client()
    if session_value is not None:
        session = browser.session
        session["portero_reset_selector"] = session_value
        session.save()
    response = browser.post(
        "/restablecer/",
        {
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 404
    assert _password_unchanged(user)


def test_fc1_a_token_in_the_form_body_is_not_accepted(user, link):
    browser = Client()
    token = link.rstrip("/").rsplit("/", 1)[1]
    response = browser.post(
        "/restablecer/",
        {
            "token": token,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 404 and _password_unchanged(user)


def test_fc1_another_users_link_cannot_change_this_user(user, client, mailbox, worker):
    from portero.accounts.services import user_create

    user_create(username="otra.persona", email="otra@example.com", password=PASSWORD)
    ask_reset(client, "otra.persona")
    worker.drain()
    set_password(Client(), link_in(mailbox.messages[0]), NEW_PASSWORD)
    assert _password_unchanged(user)
    assert User.objects.get(username="otra.persona").check_password(NEW_PASSWORD)


def test_fc2_reset_does_not_sign_the_user_in(link, user):
    browser = Client()
    response = set_password(browser, link, NEW_PASSWORD)
    assert response["Location"] == "/restablecer/listo/"
    assert "_auth_user_id" not in browser.session
    assert browser.get("/cuenta/")["Location"].startswith("/ingresar/")


def test_fc3_password_never_appears_in_email_page_or_log(link, user, mailbox, worker, caplog):
    canary = "canario secreto 9f3a7 montaña"
    caplog.set_level(logging.DEBUG)
    browser = Client()
    pages = [set_password(browser, link, canary, confirm=canary + "x")]  # mismatch: re-render
    pages.append(browser.post("/restablecer/", {"new_password1": canary, "new_password2": canary}))
    pages.append(browser.get("/restablecer/listo/"))
    worker.drain()
    assert mailbox.messages, "the password-changed notice should have been sent"
    for page in pages:
        assert canary not in page.content.decode()
    for message in mailbox.messages:
        assert canary not in message.as_string() and canary not in text_of(message)
    assert canary not in caplog.text
    assert User.objects.get(pk=user.pk).check_password(canary)


def test_fc4_password_changed_email_goes_to_the_account(link, user, mailbox, worker):
    browser = Client(
        HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36",
        REMOTE_ADDR="190.25.1.7",
    )
    set_password(browser, link, NEW_PASSWORD)
    worker.drain()
    notices = [m for m in mailbox.messages if "contraseña fue cambiada" in m["Subject"].lower()]
    assert len(notices) == 1
    notice = notices[0]
    assert notice["To"] == "gabriela@example.com"
    body = text_of(notice)
    assert "Chrome · Android" in body and "190.25.1.7" in body
    assert "hora de Colombia" in body
    assert re.search(r"\d{1,2}:\d{2}", body)
    assert "Mesa de Servicio" in body and "018000-52-0808" in body
    assert "Chrome · Android" in html_of(notice)


def test_se3_reset_ends_every_other_session(link, user):
    phone, laptop = Client(), Client()
    for browser in (phone, laptop):
        browser.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
        assert browser.get("/cuenta/").status_code == 200
    assert SessionRecord.objects.filter(user=user).count() == 2

    set_password(Client(), link, NEW_PASSWORD)

    for browser in (phone, laptop):
        assert browser.get("/cuenta/")["Location"].startswith("/ingresar/")
    assert SessionRecord.objects.filter(user=user).count() == 0
    assert not any(
        s.get_decoded().get("_auth_user_id") == str(user.pk) for s in Session.objects.all()
    )


def test_se3_change_password_keeps_this_session_and_ends_the_others(user, mailbox, worker):
    here, elsewhere = Client(), Client()
    for browser in (here, elsewhere):
        browser.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    response = here.post(
        "/cuenta/contrasena/",
        {
            "current_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert here.get("/cuenta/").status_code == 200
    assert elsewhere.get("/cuenta/").status_code == 302
    worker.drain()
    assert "se cerraron" in text_of(mailbox.messages[-1]).lower()
