"""What a person sees of the portals: consent, applications, history (OI7)."""

from __future__ import annotations

import pytest
from django.test import Client
from oauth2_provider.models import RefreshToken

from portero.audit.models import AuditEvent
from portero.federation.clients import client_add
from portero.federation.models import LogoutDelivery
from tests.federation.conftest import (
    BACKCHANNEL,
    REDIRECT,
    Portal,
    get_code,
    query_of,
    redeem,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def third_party(db: None) -> Portal:
    credentials = client_add(
        name="Observatorio ciudadano",
        redirect_uris=[REDIRECT],
        post_logout_redirect_uris=[],
        backchannel_logout_uri=BACKCHANNEL,
        consent=True,
    )
    return Portal(credentials.client_id, credentials.client_secret)


def test_first_party_portals_skip_consent(portal, browser):
    assert get_code(browser, portal)


def test_oi7_consent_page_names_the_portal_and_what_it_will_see(third_party, browser):
    page = browser.get("/o/authorize/", third_party.authorize_params())
    html = page.content.decode()
    assert page.status_code == 200
    assert "¿Permitir que Observatorio ciudadano use su cuenta?" in html
    assert "Su dirección de correo electrónico" in html
    assert "https://portal.example" in page["Content-Security-Policy"]  # the form may go there


def test_oi7_consent_is_asked_once_and_audited(third_party, browser, user):
    page = browser.get("/o/authorize/", third_party.authorize_params())
    form = {field: value for field, value in page.context["form"].initial.items() if value}
    allowed = browser.post("/o/authorize/", {**form, "allow": "Authorize"})
    assert query_of(allowed["Location"])["code"]
    assert AuditEvent.objects.filter(event="federation.consent_granted", user=user).count() == 1
    assert get_code(browser, third_party)  # no page the second time


def test_oi7_refusing_consent_returns_access_denied_to_the_portal(third_party, browser):
    page = browser.get("/o/authorize/", third_party.authorize_params())
    form = {field: value for field, value in page.context["form"].initial.items() if value}
    refused = browser.post("/o/authorize/", form)
    query = query_of(refused["Location"])
    assert query["error"] == "access_denied" and query["state"] == third_party.state


def test_prompt_none_without_consent_answers_consent_required(third_party, browser):
    response = browser.get("/o/authorize/", third_party.authorize_params(prompt="none"))
    query = query_of(response["Location"])
    assert query["error"] == "consent_required" and query["state"] == third_party.state


def test_oi7_applications_page_lists_portals_and_revoking_ends_their_access(portal, browser, user):
    redeem(portal, get_code(browser, portal))
    page = browser.get("/cuenta/aplicaciones/")
    assert "Portal de contratación" in page.content.decode()

    response = browser.post(f"/cuenta/aplicaciones/{portal.client_id}/revocar/")
    assert response.status_code == 302
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()
    assert LogoutDelivery.objects.get().application.client_id == portal.client_id
    assert AuditEvent.objects.filter(event="federation.application_revoked", user=user).exists()
    assert (
        "Ninguna aplicación tiene acceso" in browser.get("/cuenta/aplicaciones/").content.decode()
    )


def test_applications_page_needs_a_session(db):
    assert Client().get("/cuenta/aplicaciones/").status_code == 302


def test_revoking_needs_a_post_and_touches_only_ones_own_tokens(portal, browser, user):
    from portero.accounts.services import user_create
    from tests.federation.conftest import sign_in

    redeem(portal, get_code(browser, portal))
    user_create(
        username="otra.persona", email="otra@example.com", password="una frase larga y secreta 2026"
    )
    other = Client()
    sign_in(other, username="otra.persona")
    assert other.get(f"/cuenta/aplicaciones/{portal.client_id}/revocar/").status_code == 405
    other.post(f"/cuenta/aplicaciones/{portal.client_id}/revocar/")
    assert RefreshToken.objects.filter(revoked__isnull=True, user=user).exists()


def test_history_says_which_portal_was_entered(portal, browser):
    redeem(portal, get_code(browser, portal))
    history = browser.get("/cuenta/historial/").content.decode()
    assert "Ingresó a Portal de contratación" in history


def test_oi7_a_consent_on_file_is_listed_and_can_be_taken_back_after_sign_out(
    third_party, browser, user
):
    page = browser.get("/o/authorize/", third_party.authorize_params())
    form = {field: value for field, value in page.context["form"].initial.items() if value}
    redeem(
        third_party,
        query_of(browser.post("/o/authorize/", {**form, "allow": "Authorize"})["Location"])["code"],
    )
    browser.post("/salir/")
    from tests.federation.conftest import sign_in

    sign_in(browser)
    assert "Observatorio ciudadano" in browser.get("/cuenta/aplicaciones/").content.decode()
    browser.post(f"/cuenta/aplicaciones/{third_party.client_id}/revocar/")
    assert (
        browser.get("/o/authorize/", third_party.authorize_params()).status_code == 200
    )  # asked again


def test_taking_back_from_a_portal_that_holds_nothing_records_nothing(portal, browser, user):
    browser.post(f"/cuenta/aplicaciones/{portal.client_id}/revocar/")
    assert not AuditEvent.objects.filter(event="federation.application_revoked").exists()
