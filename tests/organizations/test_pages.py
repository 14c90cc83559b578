"""Mi cuenta > Mis organizaciones: register, ask for access, the administrators' pages, and
what nobody else sees (OR4)."""

from __future__ import annotations

import pytest
from django.test import Client

from portero.mail.models import EmailKind, OutboundEmail
from portero.organizations.models import Membership, MembershipState, Organization, Role
from portero.organizations.services import membership_request
from tests.helpers import text_of
from tests.organizations.conftest import NIT_B, PASSWORD, SYSTEM, Scene, person, reads_spanish

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    response = browser.post("/ingresar/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return browser


def test_the_account_page_leads_to_my_organizations(scene: Scene):
    browser = signed_in(reads_spanish(scene.member))
    assert 'href="/cuenta/organizaciones/"' in browser.get("/cuenta/").content.decode()
    page = browser.get("/cuenta/organizaciones/").content.decode()
    assert "Mis organizaciones" in page and "Alcaldía de Prueba" in page
    assert "800.197.268-4" in page and "Aceptado" in page and "Entidad Estatal" in page


def test_registering_an_organization_makes_me_its_administrator():
    me = person("registradora")
    browser = signed_in(me)
    response = browser.post(
        "/cuenta/organizaciones/registrar/",
        {
            "kind": "proveedor",
            "name": "  Suministros   del Caribe S.A.S. ",
            "nit": "900.514.813-2",
            "city": "Barranquilla",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/cuenta/organizaciones/"
    organization = Organization.objects.get()
    assert (organization.name, organization.nit) == ("Suministros del Caribe S.A.S.", NIT_B)
    membership = Membership.objects.get(user=me)
    assert (membership.role, membership.state) == (Role.ADMINISTRATOR, MembershipState.ACCEPTED)
    page = browser.get("/cuenta/organizaciones/").content.decode()
    assert "Suministros del Caribe S.A.S. fue registrada" in page


@pytest.mark.parametrize(
    ("nit", "message"),
    [
        ("900.514.813-3", "Escriba un NIT válido con su dígito de verificación"),
        ("900.514.813", "Escriba un NIT válido con su dígito de verificación"),
    ],
)
def test_a_wrong_check_digit_is_shown_next_to_the_field(nit, message):
    browser = signed_in(person("registradora"))
    response = browser.post(
        "/cuenta/organizaciones/registrar/",
        {"kind": "entidad", "name": "Entidad", "nit": nit, "city": "Cali"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and message in page and 'class="error-summary"' in page
    assert not Organization.objects.exists()


def test_registering_an_existing_organization_points_to_request_access(scene: Scene):
    browser = signed_in(scene.outsider)
    response = browser.post(
        "/cuenta/organizaciones/registrar/",
        {"kind": "entidad", "name": "Otra", "nit": "800197268-4", "city": "Cali"},
    )
    assert "ya está registrada" in response.content.decode()
    assert Organization.objects.count() == 1


def test_request_access_by_exact_nit_or_short_name_shows_no_members(scene: Scene):
    browser = signed_in(scene.outsider)
    for query in ("8001972684", "800.197.268-4", "alcaldía de"):
        page = browser.get("/cuenta/organizaciones/solicitar/", {"q": query}).content.decode()
        assert "Alcaldía de Prueba" in page, query
        # OR4: neither who acts for it nor how many
        assert scene.admin.username not in page and scene.member.username not in page
        assert scene.admin.get_full_name() not in page
    for query in ("800197268", "al", "8001972685"):  # no check digit, too short, wrong digit
        page = browser.get("/cuenta/organizaciones/solicitar/", {"q": query}).content.decode()
        assert "Alcaldía de Prueba" not in page, query


def test_or4_searches_are_limited_so_the_directory_cannot_be_listed(scene: Scene, settings):
    rule = settings.PORTERO_RATE_LIMITS["org_search_per_account_hour"]
    settings.PORTERO_RATE_LIMITS = {
        **settings.PORTERO_RATE_LIMITS,
        "org_search_per_account_hour": {**rule, "limit": 3},
    }
    browser = signed_in(scene.outsider)
    for _ in range(3):
        page = browser.get("/cuenta/organizaciones/solicitar/", {"q": "alcaldía de"})
        assert "Alcaldía de Prueba" in page.content.decode()
    refused = browser.get("/cuenta/organizaciones/solicitar/", {"q": "alcaldía de"})
    assert refused.status_code == 200
    assert "Alcaldía de Prueba" not in refused.content.decode()
    assert "Demasiadas búsquedas" in refused.content.decode()


def test_a_request_reaches_the_administrators_by_email_with_a_link(scene: Scene, worker, mailbox):
    browser = signed_in(scene.outsider)
    response = browser.post(
        "/cuenta/organizaciones/solicitar/", {"organization": scene.organization.pk}
    )
    assert response.status_code == 302
    assert Membership.objects.get(user=scene.outsider).state == MembershipState.PENDING
    worker.drain()
    to_admin = [m for m in mailbox.messages if scene.admin.email in m["To"]]
    assert len(to_admin) == 1
    body = text_of(to_admin[0])
    assert "Nueva solicitud de acceso" in to_admin[0]["Subject"]
    assert scene.outsider.username in body and "800.197.268-4" in body
    assert (
        f"https://cuentas.portero.test/cuenta/organizaciones/{scene.organization.pk}/solicitudes/"
    ) in body


def test_or4_administrator_pages_are_not_found_for_anyone_else(scene: Scene):
    pages = [
        f"/cuenta/organizaciones/{scene.organization.pk}/solicitudes/",
        f"/cuenta/organizaciones/{scene.organization.pk}/miembros/",
    ]
    for user in (scene.member, scene.outsider):
        browser = signed_in(user)
        for page in pages:
            response = browser.get(page)
            assert response.status_code == 404, (user, page)
            assert scene.admin.username not in response.content.decode()
        target = Membership.objects.get(user=scene.admin)
        refused = browser.post(
            f"/cuenta/organizaciones/{scene.organization.pk}/decidir/{target.pk}/",
            {"action": "cancel"},
        )
        assert refused.status_code == 404
    assert Membership.objects.get(user=scene.admin).state == MembershipState.ACCEPTED
    missing = signed_in(scene.admin).get("/cuenta/organizaciones/999999/miembros/")
    assert missing.status_code == 404


def test_an_administrator_accepts_rejects_and_reverts_from_the_requests_page(scene: Scene):
    other = person("solicitante.dos")
    first = membership_request(user=scene.outsider, organization=scene.organization, client=SYSTEM)
    second = membership_request(user=other, organization=scene.organization, client=SYSTEM)
    browser = signed_in(scene.admin)
    base = f"/cuenta/organizaciones/{scene.organization.pk}"
    page = browser.get(f"{base}/solicitudes/").content.decode()
    assert scene.outsider.username in page and other.username in page
    browser.post(f"{base}/decidir/{first.pk}/", {"action": "accept"})
    browser.post(f"{base}/decidir/{second.pk}/", {"action": "reject", "reason": "Desconocido"})
    assert Membership.objects.get(pk=first.pk).state == MembershipState.ACCEPTED
    assert Membership.objects.get(pk=second.pk).state == MembershipState.REJECTED
    page = browser.get(f"{base}/solicitudes/").content.decode()
    assert "Revertir el rechazo" in page and "Desconocido" in page
    browser.post(f"{base}/decidir/{second.pk}/", {"action": "revert_rejection"})
    assert Membership.objects.get(pk=second.pk).state == MembershipState.PENDING
    members = browser.get(f"{base}/miembros/").content.decode()
    assert scene.outsider.username in members and scene.member.username in members
    assert "aceptado" in members.lower()  # the history
    notices = OutboundEmail.objects.filter(kind=EmailKind.MEMBERSHIP_CHANGED, user=other)
    assert [n.context["action"] for n in notices.order_by("pk")] == ["reject", "revert_rejection"]


def test_or2_the_members_page_refuses_to_remove_the_last_administrator(scene: Scene):
    browser = signed_in(scene.admin)
    own = Membership.objects.get(user=scene.admin)
    base = f"/cuenta/organizaciones/{scene.organization.pk}"
    response = browser.post(f"{base}/rol/{own.pk}/", {"role": "usuario"}, follow=True)
    assert "al menos un administrador activo" in response.content.decode()
    response = browser.post(
        f"{base}/decidir/{own.pk}/", {"action": "cancel", "back": "members"}, follow=True
    )
    assert "al menos un administrador activo" in response.content.decode()
    own.refresh_from_db()
    assert (own.role, own.state) == (Role.ADMINISTRATOR, MembershipState.ACCEPTED)


def test_a_member_told_in_their_language(scene: Scene, worker, mailbox):
    browser = signed_in(scene.admin)
    membership = Membership.objects.get(user=scene.member)  # an English speaker
    browser.post(
        f"/cuenta/organizaciones/{scene.organization.pk}/decidir/{membership.pk}/",
        {"action": "cancel", "reason": "Left the office", "back": "members"},
    )
    worker.drain()
    [notice] = [
        m for m in mailbox.messages if scene.member.email in m["To"] and "cancelled" in text_of(m)
    ]
    body = text_of(notice)
    assert "Your access to Alcaldía de Prueba (NIT 800.197.268-4) was cancelled" in body
    assert "Reason: Left the office" in body
    assert "Your access to Alcaldía de Prueba" in notice["Subject"]
