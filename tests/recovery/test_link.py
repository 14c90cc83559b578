"""Recovery links: secret, built from the base URL, not used up by opening, no traps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client

from portero.accounts.models import User
from portero.recovery.models import PasswordReset
from portero.recovery.tokens import SELECTOR_BYTES, selector_from_token
from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.helpers import ask_reset, link_in, set_password, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(client, user, mailbox, worker) -> str:
    ask_reset(client, "gongoragabriela")
    worker.drain()
    return link_in(mailbox.messages[-1])


def _all_database_text() -> str:
    """Every value of every row of every table, as one string."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (names from introspection)
            chunks.extend(str(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_tk1_database_never_holds_a_usable_secret(client, link):
    token = link.rstrip("/").rsplit("/", 1)[1]
    selector, verifier = token.split(".")
    client.get(link)  # the session now knows this browser opened the link
    everything = _all_database_text()
    assert verifier not in everything and token not in everything
    assert selector in everything  # the public half, useless without the server key


def test_tk1_secret_has_128_random_bits_and_is_checked_with_the_key(link):
    token = link.rstrip("/").rsplit("/", 1)[1]
    selector = selector_from_token(token)
    assert selector is not None and SELECTOR_BYTES * 8 >= 128
    assert len(selector) == 22
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert selector_from_token(forged) is None


def test_tk1_forged_verifier_gets_the_invalid_link_page(client, link):
    forged = link[:-5] + ("A" if link[-5] != "A" else "B") + link[-4:]
    client.get(forged)
    page = client.get("/restablecer/")
    assert page.status_code == 404
    assert "Nueva contraseña" not in page.content.decode()


def test_tk1_selectors_are_unique_per_request(client, user, mailbox, worker):
    for _ in range(5):
        ask_reset(client, "gongoragabriela")
    worker.drain()
    selectors = {link_in(m) for m in mailbox.messages}
    assert len(selectors) == 5 == PasswordReset.objects.count()


def test_tk2_link_built_from_base_url_not_from_host_headers(user, mailbox, worker):
    spoofing = Client(
        HTTP_HOST="localhost", HTTP_X_FORWARDED_HOST="evil.test", HTTP_X_FORWARDED_PROTO="http"
    )
    spoofing.post("/recuperar/contrasena/", {"username": "gongoragabriela"})
    worker.drain()
    body = text_of(mailbox.messages[0])
    assert "https://cuentas.portero.test/restablecer/" in body
    assert "evil.test" not in body and "localhost" not in body


def test_tk3_opening_the_link_neither_uses_it_nor_signs_in(client, link, user):
    first = client.get(link)
    assert first.status_code == 302 and first["Location"] == "/restablecer/"
    for _ in range(3):  # scanners, previews and double clicks
        assert client.get(link).status_code == 302
    page = client.get("/restablecer/")
    assert page.status_code == 200
    assert "gongoragabriela" in page.content.decode()
    assert "_auth_user_id" not in client.session
    assert PasswordReset.objects.get().used_at is None
    assert PasswordReset.objects.get().opened_at is not None


def test_tk3_link_pages_send_no_referrer_and_no_store(client, link):
    token = link.rstrip("/").rsplit("/", 1)[1]
    opened = client.get(link)
    assert opened["Referrer-Policy"] == "no-referrer"  # the only URL that holds the token
    form_page = client.get("/restablecer/")
    # The form page's URL holds no secret; same-origin keeps its form posts CSRF-verifiable
    # (no-referrer makes browsers send "Origin: null") and never tells another site anything.
    assert form_page["Referrer-Policy"] == "same-origin"
    for response in (opened, form_page):
        assert response["Cache-Control"] == "no-store"
        assert token not in response.content.decode()
        assert token not in response.get("Location", "")


def test_tk3_page_loads_no_third_party_resource(client, link):
    client.get(link)
    html = client.get("/restablecer/").content.decode()
    assert "http://" not in html.replace('href="https://soporte.portero.test"', "")
    for marker in ('src="http', 'src="//', 'href="//'):
        assert marker not in html


def test_tk3_link_opened_in_another_browser_works(link, user):
    other_device = Client()
    response = set_password(other_device, link, NEW_PASSWORD)
    assert response["Location"] == "/restablecer/listo/"


def test_tk4_email_states_the_lifetime(user, mailbox, worker, client):
    ask_reset(client, "gongoragabriela")
    worker.drain()
    body = text_of(mailbox.messages[0])
    assert "60 minutos" in body


def test_tk4_expired_link_offers_a_new_email(client, link, user, mailbox, worker, clock):
    clock.advance(timedelta(minutes=61))
    client.get(link)
    page = client.get("/restablecer/")
    assert page.status_code == 410
    assert 'action="/restablecer/nuevo-correo/"' in page.content.decode()

    mailbox.clear()
    asked = client.post("/restablecer/nuevo-correo/")
    assert asked["Location"] == "/recuperar/contrasena/enviado/"
    worker.drain()
    assert len(mailbox.messages) == 1
    response = set_password(Client(), link_in(mailbox.messages[0]), NEW_PASSWORD)
    assert response["Location"] == "/restablecer/listo/"


def test_tk4_used_link_has_its_own_page(client, link, user):
    set_password(client, link, NEW_PASSWORD)
    again = Client()
    again.get(link)
    page = again.get("/restablecer/")
    assert page.status_code == 410
    text = page.content.decode()
    assert "ya fue usado" in text
    assert 'action="/restablecer/nuevo-correo/"' in text


def test_tk4_unknown_link_has_its_own_page(client, user):
    client.get("/restablecer/no-es-un-enlace/")
    page = client.get("/restablecer/")
    assert page.status_code == 404
    assert 'href="/recuperar/contrasena/"' in page.content.decode()


def test_tk5_new_request_never_breaks_an_earlier_email(client, user, mailbox, worker):
    ask_reset(client, "gongoragabriela")
    ask_reset(client, "gongoragabriela")
    ask_reset(client, "gongoragabriela")
    worker.drain()
    first, second, third = (link_in(m) for m in mailbox.messages)
    response = set_password(Client(), first, NEW_PASSWORD)
    assert response["Location"] == "/restablecer/listo/"
    for later in (second, third):  # after a successful reset every other link is dead
        browser = Client()
        browser.get(later)
        assert browser.get("/restablecer/").status_code == 410


def test_tk5_password_change_while_signed_in_kills_outstanding_links(client, link, user):
    signed_in = Client()
    signed_in.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    changed = signed_in.post(
        "/cuenta/contrasena/",
        {
            "current_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 302
    client.get(link)
    assert client.get("/restablecer/").status_code == 410
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_tk5_links_work_until_they_expire(client, link, user, clock):
    clock.advance(timedelta(minutes=59))
    assert set_password(client, link, NEW_PASSWORD)["Location"] == "/restablecer/listo/"
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
