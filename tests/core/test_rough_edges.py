"""Small things a person or an operator tripped on: long addresses, the favicon, one log line
for a refused request, and the words of a few pages."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from tests.conftest import NEW_PASSWORD
from tests.helpers import ask_reset, link_in, set_password

pytestmark = pytest.mark.django_db


def test_a_very_long_address_gets_our_own_page():
    for url in ("/ingresar/?x=" + "a" * 5000, "/mesa/?q=" + "b" * 5000, "/" + "c" * 3000):
        response = Client(HTTP_ACCEPT_LANGUAGE="es-CO").get(url)
        assert response.status_code == 414
        assert "La dirección es demasiado larga" in response.content.decode()


def test_there_is_a_favicon():
    assert Client().get("/favicon.ico")["Location"] == "/static/portero/favicon.svg"
    assert 'rel="icon"' in Client().get("/ingresar/").content.decode()


def test_a_refused_request_is_one_log_line(user, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    browser = Client()
    browser.post(
        "/ingresar/", {"username": user.username, "password": "una frase larga y secreta 2026"}
    )
    assert browser.get("/mesa/").status_code == 403
    handler = logging.getLogger().handlers[0]
    lines = [handler.format(r) for r in caplog.records if r.name == "django.request"]
    assert lines and all("Traceback" not in line for line in lines)


def test_a_link_killed_by_another_password_change_says_so(client, user, mailbox, worker):
    ask_reset(client, user.username)
    ask_reset(client, user.username)
    worker.drain()
    first, second = (link_in(m) for m in mailbox.messages[:2])
    set_password(Client(), second, NEW_PASSWORD)
    page = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    page.get(first)
    html = page.get("/restablecer/").content.decode()
    assert "La contraseña ya fue cambiada" in html and "ya fue usado" not in html


def test_the_too_long_page_has_the_security_headers_too():
    response = Client().get("/ingresar/?x=" + "a" * 3000)
    assert response.status_code == 414
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "no-store" and response["X-Content-Type-Options"]
