"""The pending portal sign-in survives the recovery journey (the seed's journey, from a portal)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from portero.accounts.services import user_create
from tests.conftest import NEW_PASSWORD
from tests.federation.conftest import REDIRECT, query_of, redeem, sign_in, verify_id_token
from tests.helpers import ask_reset, link_in, set_password

pytestmark = pytest.mark.django_db


def start_at_portal(browser: Client, portal) -> str:  # type: ignore[no-untyped-def]
    """The portal sends the browser to Portero; return the sign-in page's address."""
    response = browser.get("/o/authorize/", portal.authorize_params())
    assert response.status_code == 302 and response["Location"].startswith("/ingresar/")
    return response["Location"]


def finish_at_portal(browser: Client, signed_in, portal) -> dict:  # type: ignore[no-untyped-def]
    assert signed_in.status_code == 302 and signed_in["Location"].startswith("/o/authorize/")
    back = browser.get(signed_in["Location"])
    assert back["Location"].startswith(REDIRECT)
    query = query_of(back["Location"])
    assert query["state"] == portal.state
    claims = verify_id_token(redeem(portal, query["code"]).json()["id_token"], portal)
    assert claims["nonce"] == portal.nonce
    return claims


def test_forgot_password_from_a_portal_lands_back_in_the_portal(portal, user, mailbox, worker):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    sign_in_page = browser.get(start_at_portal(browser, portal))
    assert "Ingrese para continuar a Portal de contratación" in sign_in_page.content.decode()
    assert "https://portal.example" in sign_in_page["Content-Security-Policy"]

    ask_reset(browser, user.username)
    worker.drain()
    done = set_password(browser, link_in(mailbox.messages[0]), NEW_PASSWORD)
    page = browser.get(done["Location"]).content.decode()
    assert "Ingresar y continuar a Portal de contratación" in page

    signed_in = browser.post("/ingresar/", {"username": user.username, "password": NEW_PASSWORD})
    claims = finish_at_portal(browser, signed_in, portal)
    assert claims["email_verified"] is True


def test_activation_from_a_portal_lands_back_in_the_portal(portal, mailbox, worker):
    user_create(username="proveedor.nuevo", email="nuevo@example.com", password=None)
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    start_at_portal(browser, portal)
    ask_reset(browser, "proveedor.nuevo")
    worker.drain()
    set_password(browser, link_in(mailbox.messages[0]), NEW_PASSWORD)
    signed_in = browser.post(
        "/ingresar/", {"username": "proveedor.nuevo", "password": NEW_PASSWORD}
    )
    assert finish_at_portal(browser, signed_in, portal)["preferred_username"] == "proveedor.nuevo"


def test_username_reminder_from_a_portal_lands_back_in_the_portal(portal, user, mailbox, worker):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    start_at_portal(browser, portal)
    assert browser.post("/recuperar/usuario/", {"email": user.email}).status_code == 302
    worker.drain()
    assert user.username in mailbox.messages[0].get_body(("plain",)).get_content()
    finish_at_portal(browser, sign_in(browser), portal)


def test_on_another_device_the_journey_ends_on_portero_with_a_clear_message(
    portal, user, mailbox, worker
):
    start_at_portal(Client(), portal)
    phone = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    ask_reset(phone, user.username)
    worker.drain()
    done = set_password(phone, link_in(mailbox.messages[0]), NEW_PASSWORD)
    page = phone.get(done["Location"]).content.decode()
    assert "vuelva a él e ingrese allí con su nueva contraseña" in page
    signed_in = phone.post("/ingresar/", {"username": user.username, "password": NEW_PASSWORD})
    assert signed_in["Location"] == "/cuenta/"


def test_a_pending_sign_in_goes_stale_after_two_hours(portal, user, clock):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    start_at_portal(browser, portal)
    clock.advance(timedelta(hours=2, minutes=1))
    assert "Ingrese para continuar" not in browser.get("/ingresar/").content.decode()
    assert sign_in(browser)["Location"] == "/cuenta/"


def test_an_unregistered_redirect_is_not_kept_nor_allowed_as_a_form_target(portal):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    response = browser.get(
        "/o/authorize/", portal.authorize_params(redirect_uri="https://evil.example/cb")
    )
    page = browser.get(response["Location"])
    assert "evil.example" not in page["Content-Security-Policy"]
    assert "Ingrese para continuar" not in page.content.decode()
