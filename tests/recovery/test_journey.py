"""The whole password recovery journey through the test client, real SMTP and the worker."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.helpers import ask_reset, link_in, set_password, text_of

pytestmark = pytest.mark.django_db


def test_forgot_password_journey_sets_new_password_and_sign_in_works(client, user, mailbox, worker):
    ask_reset(client, "GongoraGabriela")  # usernames ignore case
    worker.drain()

    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["Subject"] == "SECOP II – Recuperación de Contraseña"
    assert message["To"] == "gabriela@example.com"
    assert "gongoragabriela" in text_of(message)

    response = set_password(client, link_in(message), NEW_PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/restablecer/listo/"

    fresh = Client()
    assert (
        fresh.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD}).status_code
        == 200
    )
    signed_in = fresh.post("/ingresar/", {"username": "gongoragabriela", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/cuenta/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
