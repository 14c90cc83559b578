"""An imported account is activated, not "changed": first-time words on every page and e-mail."""

from __future__ import annotations

import pytest
from django.test import Client

from portero.accounts.services import user_create
from tests.conftest import NEW_PASSWORD
from tests.helpers import ask_reset, link_in, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(db):  # type: ignore[no-untyped-def]
    return user_create(
        username="proveedor.nuevo", email="nuevo@example.com", password=None, via="import"
    )


def test_sign_in_page_offers_activation_and_it_leads_to_the_same_request(client, imported):
    page = client.get("/ingresar/").content.decode()
    assert "¿Primera vez? Active su cuenta" in page
    form = client.get("/recuperar/contrasena/?primera-vez=1").content.decode()
    assert "<h1>Active su cuenta</h1>" in form and "crear su contraseña" in form


def test_activation_speaks_of_creating_a_password_never_of_changing_one(
    client, imported, mailbox, worker
):
    ask_reset(client, imported.username)
    worker.drain()
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    browser.get(link_in(mailbox.messages[0]))
    page = browser.get("/restablecer/").content.decode()
    assert "<h1>Active su cuenta</h1>" in page and "Crear contraseña" in page
    assert "cambiar su contraseña" not in page.lower() and "contraseña actual" not in page
    assert "Nueva contraseña" not in page
    done = browser.post(
        "/restablecer/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    finished = browser.get(done["Location"]).content.decode()
    assert "Su cuenta está activa" in finished and "fue cambiada" not in finished
    mailbox.clear()
    worker.drain()
    notice = mailbox.messages[0]
    assert "Su cuenta está activa" in notice["Subject"]
    assert "se activó" in text_of(notice) and "fue cambiada" not in text_of(notice)


def test_a_reset_still_speaks_of_changing(client, user, mailbox, worker):
    ask_reset(client, user.username)
    worker.drain()
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    browser.get(link_in(mailbox.messages[0]))
    assert "Cambiar contraseña" in browser.get("/restablecer/").content.decode()
