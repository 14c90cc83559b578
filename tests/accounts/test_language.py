"""The person's language: chosen in Mi cuenta or with the header's switch, saved on the account,
used at sign-in and for e-mails asked for anonymously; the help desk's texts per language."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from portero.accounts.models import User
from portero.accounts.services import user_create
from portero.audit.models import AuditEvent
from tests.conftest import PASSWORD
from tests.helpers import text_of

pytestmark = pytest.mark.django_db

COOKIE = "portero_language"
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def _signed_in(language_page: str = "es-CO") -> Client:
    browser = Client(HTTP_ACCEPT_LANGUAGE=language_page)
    response = browser.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    assert response.status_code == 302
    return browser


def _saved(user: User) -> str:
    user.refresh_from_db()
    return user.language


def test_an_account_starts_with_no_language_chosen(user):
    assert user.language == ""
    assert user.preferred_language("en") == "en" and user.preferred_language() == "es-co"


def test_my_account_saves_the_choice_audits_it_and_answers_in_it(user):
    browser = _signed_in()
    page = browser.get("/cuenta/idioma/").content.decode()
    assert "Idioma de las páginas y los correos" in page and 'value="es-co"' in page
    response = browser.post("/cuenta/idioma/", {"language": "en"})
    assert response.status_code == 302 and response["Location"] == "/cuenta/idioma/"
    assert response.cookies[COOKIE].value == "en"
    assert _saved(user) == "en"
    event = AuditEvent.objects.get(event="language.changed", user=user)
    assert event.details["language"] == "en"
    after = browser.get("/cuenta/idioma/").content.decode()
    assert "Your language was saved." in after and 'lang="en"' in after


def test_my_account_refuses_an_unknown_language_without_saving_it(user):
    browser = _signed_in()
    response = browser.post("/cuenta/idioma/", {"language": "fr"})
    assert response.status_code == 200 and "field--error" in response.content.decode()
    assert _saved(user) == ""
    assert not AuditEvent.objects.filter(event="language.changed").exists()


def test_my_account_links_to_the_language_page(user):
    assert 'href="/cuenta/idioma/"' in _signed_in().get("/cuenta/").content.decode()


def test_the_header_switch_saves_the_choice_when_signed_in(user):
    browser = _signed_in()
    response = browser.post("/idioma/", {"language": "en", "next": "/cuenta/"})
    assert response.status_code == 302 and response["Location"] == "/cuenta/"
    assert response.cookies[COOKIE].value == "en"
    assert _saved(user) == "en"
    assert AuditEvent.objects.filter(event="language.changed", user=user).count() == 1
    assert "My account" in browser.get("/cuenta/").content.decode()


def test_the_header_switch_signed_out_only_sets_the_cookie(user):
    browser = Client()
    response = browser.post("/idioma/", {"language": "en", "next": "/ingresar/"})
    assert response.cookies[COOKIE].value == "en"
    assert _saved(user) == ""
    assert not AuditEvent.objects.filter(event="language.changed").exists()


def test_the_header_switch_ignores_an_unknown_language(user):
    browser = _signed_in()
    response = browser.post("/idioma/", {"language": "xx", "next": "/cuenta/"})
    assert response.status_code == 302
    assert _saved(user) == ""


def test_the_saved_language_becomes_the_page_language_at_sign_in(user):
    user.language = "en"
    user.save(update_fields=["language"])
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    assert 'lang="es-CO"' in browser.get("/ingresar/").content.decode()
    response = browser.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    assert response.cookies[COOKIE].value == "en"
    page = browser.get("/cuenta/").content.decode()
    assert "My account" in page and 'lang="en"' in page


def test_signed_in_without_a_choice_the_page_follows_the_browser(user):
    browser = _signed_in("en")
    assert "My account" in browser.get("/cuenta/").content.decode()
    assert _saved(user) == ""


# --- E-mails asked for anonymously ---------------------------------------------------------


def _visible(response) -> tuple[int, dict[str, str], bytes]:  # type: ignore[no-untyped-def]
    headers = {k: v for k, v in response.headers.items() if k not in {"Set-Cookie", "X-Request-ID"}}
    return response.status_code, headers, CSRF.sub(b"", response.content)


def _ask_reset_in_english(username: str) -> list[tuple[int, dict[str, str], bytes]]:
    browser = Client()
    browser.cookies[COOKIE] = "en"
    posted = browser.post("/recuperar/contrasena/", {"username": username})
    return [_visible(posted), _visible(browser.get(posted["Location"]))]


def test_fr1_a_reset_asked_from_the_english_page_arrives_in_english_and_answers_alike(
    user, mailbox, worker
):
    known = _ask_reset_in_english("gongoragabriela")
    assert known == _ask_reset_in_english("nadie.existe")  # FR1: status, headers and body
    assert b'lang="en"' in known[1][2]
    worker.drain()
    [message] = mailbox.messages
    assert message["Content-Language"] == "en"
    assert "Password Recovery" in message["Subject"] and "Dear user," in text_of(message)


def test_the_saved_language_wins_over_the_page_it_was_asked_from(user, mailbox, worker):
    user.language = "es-co"
    user.save(update_fields=["language"])
    _ask_reset_in_english("gongoragabriela")
    worker.drain()
    [message] = mailbox.messages
    assert message["Content-Language"] == "es-co"
    assert "Recuperación de Contraseña" in message["Subject"]
    assert "Estimado(a) usuario(a)," in text_of(message)


def test_a_username_reminder_asked_from_the_english_page_arrives_in_english(user, mailbox, worker):
    browser = Client()
    browser.cookies[COOKIE] = "en"
    browser.post("/recuperar/usuario/", {"email": "gabriela@example.com"})
    worker.drain()
    [message] = mailbox.messages
    assert message["Content-Language"] == "en"


def test_a_username_reminder_follows_the_page_not_one_of_the_accounts_it_lists(
    user, mailbox, worker
):
    """The address asked, and it may hold other people's accounts: the oldest one's saved
    choice must not decide the language for whoever asked."""
    user.language = "en"
    user.save(update_fields=["language"])
    user_create(username="otra.persona", email=user.email)
    browser = Client()
    browser.cookies[COOKIE] = "es-co"
    browser.post("/recuperar/usuario/", {"email": user.email})
    worker.drain()
    [message] = mailbox.messages
    assert message["Content-Language"] == "es-co"


def test_an_activation_asked_from_the_english_page_arrives_in_english(mailbox, worker):
    user_create(username="proveedor.nuevo", email="nuevo@example.com")
    browser = Client()
    browser.cookies[COOKIE] = "en"
    browser.post("/recuperar/contrasena/", {"username": "proveedor.nuevo"})
    worker.drain()
    [message] = mailbox.messages
    assert message["Content-Language"] == "en"


# --- The help desk's texts per language ----------------------------------------------------


@pytest.fixture
def english_helpdesk(settings):  # type: ignore[no-untyped-def]
    settings.PORTERO_HELPDESK_NAME = "Mesa de Servicio"
    settings.PORTERO_HELPDESK_NAME_EN = "Service Desk"
    settings.PORTERO_HELPDESK_PHONES = "Línea Nacional 018000-52-0808 / En Bogotá 745-8788"
    settings.PORTERO_HELPDESK_PHONES_EN = "National line 018000-52-0808 / In Bogotá 745-8788"
    settings.PORTERO_HELPDESK_HOURS = "Lunes a viernes 7:00 a.m. - 7:00 p.m."
    settings.PORTERO_HELPDESK_HOURS_EN = "Monday to Friday 7:00 a.m. - 7:00 p.m."


SPANISH_HELPDESK = ("Línea Nacional", "Mesa de Servicio", "Lunes a viernes", "En Bogotá")


def test_the_english_footer_has_no_spanish_help_desk_text(english_helpdesk):
    browser = Client()
    browser.cookies[COOKIE] = "en"
    page = browser.get("/ingresar/").content.decode()
    footer = page[page.index("<footer") :]
    assert "Service Desk" in footer and "National line" in footer and "Monday" in footer
    assert not [text for text in SPANISH_HELPDESK if text in footer]
    spanish = Client(HTTP_ACCEPT_LANGUAGE="es-CO").get("/ingresar/").content.decode()
    assert "Línea Nacional" in spanish and "Mesa de Servicio" in spanish


def test_english_e_mails_name_the_help_desk_in_english(english_helpdesk, user, mailbox, worker):
    _ask_reset_in_english("gongoragabriela")
    worker.drain()
    body = text_of(mailbox.messages[0])
    assert "Service Desk" in body and "National line" in body
    assert not [text for text in SPANISH_HELPDESK if text in body]


def test_english_pages_use_one_name_for_the_help_desk(english_helpdesk, user):
    browser = _signed_in("en")
    page = browser.get("/cuenta/historial/").content.decode()
    assert "contact the Service Desk" in page
    assert "help desk" not in page.lower() and "Mesa de Servicio" not in page
