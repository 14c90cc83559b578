"""The company selector after sign-in, switching from the header, and the `organizacion` claim
a portal gets, with Authlib as the portal (OR3)."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from django.test import Client
from joserfc import jwt
from joserfc.jwk import KeySet

from portero.audit.models import AuditEvent
from portero.federation.models import Authorization, LogoutDelivery
from portero.organizations.models import ActingFor, Membership
from portero.organizations.services import membership_decide
from portero.organizations.states import By
from tests.federation.conftest import REDIRECT, query_of
from tests.organizations.conftest import (
    NIT_B,
    PASSWORD,
    SYSTEM,
    Scene,
    accepted,
    reads_spanish,
    register,
)

pytestmark = pytest.mark.django_db

ISSUER = "https://cuentas.portero.test"


def with_password(user):  # type: ignore[no-untyped-def]
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def sign_in(browser: Client, user, **extra: str):  # type: ignore[no-untyped-def]
    return browser.post("/ingresar/", {"username": user.username, "password": PASSWORD, **extra})


@pytest.fixture
def two_orgs(scene: Scene) -> Scene:
    """The scene's member also acts for a supplier (where the scene's admin is admin too)."""
    supplier = register(
        scene.admin, nit=NIT_B, name="Suministros del Caribe S.A.S.", kind="proveedor"
    )
    accepted(supplier, scene.member, scene.admin)
    with_password(scene.member)
    return scene


def chosen(user) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    return list(AuditEvent.objects.filter(event="organization.chosen", user=user).order_by("pk"))


def test_or3_one_membership_is_chosen_silently_at_sign_in(scene: Scene):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    response = sign_in(browser, with_password(scene.admin))
    assert response["Location"] == "/cuenta/"
    page = browser.get("/cuenta/").content.decode()
    assert "Actuando por" in page and "Alcaldía de Prueba" in page
    [event] = chosen(scene.admin)
    assert event.details["via"] == "only" and event.details["previous"] is None


def test_no_membership_goes_on_alone(scene: Scene):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    assert sign_in(browser, with_password(scene.outsider))["Location"] == "/cuenta/"
    assert "Actuando por" not in browser.get("/cuenta/").content.decode()
    assert chosen(scene.outsider) == [] and not ActingFor.objects.exists()


def test_or3_several_memberships_ask_which_one_last_choice_first(two_orgs: Scene):
    reads_spanish(two_orgs.member)
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    response = sign_in(browser, two_orgs.member, next="/cuenta/sesiones/")
    assert response["Location"] == "/cuenta/organizaciones/elegir/"
    page = browser.get(response["Location"]).content.decode()
    assert "¿Con cuál cuenta desea ingresar?" in page
    assert page.index("Alcaldía de Prueba") < page.index("Suministros del Caribe")
    # Until a choice is made, the pages ask again.
    supplier = Membership.objects.get(
        user=two_orgs.member, organization__name__startswith="Suministros"
    )
    done = browser.post("/cuenta/organizaciones/elegir/", {"membership": supplier.pk})
    assert done["Location"] == "/cuenta/sesiones/"  # on to where the person was going
    assert chosen(two_orgs.member)[-1].details["via"] == "selector"

    again = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    sign_in(again, two_orgs.member)
    page = again.get("/cuenta/organizaciones/elegir/").content.decode()
    assert page.index("Suministros del Caribe") < page.index("Alcaldía de Prueba")


def test_or3_the_selector_offers_only_the_persons_accepted_memberships(two_orgs: Scene):
    reads_spanish(two_orgs.member)
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    sign_in(browser, two_orgs.member)
    foreign = Membership.objects.get(user=two_orgs.admin, organization__nit=NIT_B)
    response = browser.post("/cuenta/organizaciones/elegir/", {"membership": foreign.pk})
    assert response.status_code == 200
    assert "Elija una de las organizaciones de la lista" in response.content.decode()
    assert not ActingFor.objects.filter(membership=foreign).exists()


def test_or3_switching_from_the_header_is_audited_and_needs_no_new_sign_in(two_orgs: Scene):
    reads_spanish(two_orgs.member)
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    sign_in(browser, two_orgs.member)
    first, second = (
        Membership.objects.get(user=two_orgs.member, organization__nit=nit)
        for nit in ("8001972684", NIT_B)
    )
    browser.post("/cuenta/organizaciones/elegir/", {"membership": first.pk})
    header = browser.get("/cuenta/").content.decode()
    assert 'href="/cuenta/organizaciones/elegir/"' in header and "Cambiar" in header
    response = browser.post(
        "/cuenta/organizaciones/elegir/", {"membership": second.pk}, follow=True
    )
    assert "Ahora usted actúa por Suministros del Caribe S.A.S." in response.content.decode()
    switch = chosen(two_orgs.member)[-1]
    assert switch.details["via"] == "switch"
    assert switch.details["previous"] == first.organization_id
    assert switch.details["organization"] == second.organization_id
    assert AuditEvent.objects.filter(event="sign_in.ok", user=two_orgs.member).count() == 1


# --- the portal's view, with Authlib ------------------------------------------------------


class DjangoAdapter(requests.adapters.BaseAdapter):
    """Send a `requests` call (Authlib's) to Portero in this process, through Django's test
    client: the real token and userinfo endpoints, without a server."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        headers = {
            k: str(v)
            for k, v in request.headers.items()
            if k.lower() not in {"content-length", "content-type"}
        }
        body = request.body.encode() if isinstance(request.body, str) else request.body or b""
        answer = Client().generic(
            request.method or "GET",
            f"{url.path}?{url.query}",
            body,
            content_type=str(request.headers.get("Content-Type", "")),
            headers=headers,
        )
        response = requests.Response()
        response.status_code, response._content = answer.status_code, answer.content
        response.headers.update(dict(answer.items()))
        response.url, response.request = request.url or "", request
        return response

    def close(self) -> None:
        pass


def portal_session(
    portal,
    scope: str = "openid profile organizacion",  # type: ignore[no-untyped-def]
    **kwargs: Any,
) -> OAuth2Session:
    session = OAuth2Session(
        portal.client_id,
        portal.client_secret,
        scope=scope,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        **kwargs,
    )
    session.mount(ISSUER, DjangoAdapter())
    return session


def portal_sign_in(browser: Client, portal) -> tuple[OAuth2Session, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The portal sends the (signed-in) browser to Portero, which may show the selector
    first; return Authlib's session and the checked ID token's claims."""
    rp = portal_session(portal)
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    url, _ = rp.create_authorization_url(
        f"{ISSUER}/o/authorize/", code_verifier=verifier, nonce=nonce
    )
    location = browser.get(url.removeprefix(ISSUER))["Location"]
    while not location.startswith(REDIRECT):
        assert location.startswith("/cuenta/organizaciones/elegir/"), location
        page = browser.get(location).content.decode()
        first = page.split('name="membership" value="')[1].split('"')[0]
        location = browser.post(location, {"membership": first})["Location"]
        location = browser.get(location)["Location"]
    token = rp.fetch_token(
        f"{ISSUER}/o/token/", authorization_response=location, code_verifier=verifier
    )
    keys = KeySet.import_key_set(rp.get(f"{ISSUER}/o/jwks/").json())
    decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {
            "iss": {"essential": True, "value": ISSUER},
            "aud": {"essential": True, "value": portal.client_id},
            "nonce": {"essential": True},
        },
        {"nonce": nonce, "client_id": portal.client_id, "access_token": token["access_token"]},
    )
    claims.validate()
    return rp, dict(claims)


def test_or3_the_portal_gets_the_chosen_organization_in_the_id_token_and_userinfo(
    two_orgs: Scene, local_portal
):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    assert sign_in(browser, two_orgs.member)["Location"] == "/cuenta/organizaciones/elegir/"
    supplier = Membership.objects.get(user=two_orgs.member, organization__nit=NIT_B)
    browser.post("/cuenta/organizaciones/elegir/", {"membership": supplier.pk})
    rp, claims = portal_sign_in(browser, local_portal)
    expected = {
        "id": str(supplier.organization.public_id),
        "nit": "900514813-2",
        "name": "Suministros del Caribe S.A.S.",
        "kind": "proveedor",
        "role": "usuario",
    }
    assert claims["organizacion"] == expected
    assert rp.get(f"{ISSUER}/o/userinfo/").json()["organizacion"] == expected


def test_the_claim_needs_the_organizacion_scope(scene: Scene, local_portal):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    sign_in(browser, with_password(scene.admin))
    rp = portal_session(local_portal, scope="openid profile")
    verifier = secrets.token_urlsafe(48)
    url, _ = rp.create_authorization_url(
        f"{ISSUER}/o/authorize/", code_verifier=verifier, nonce="n"
    )
    location = browser.get(url.removeprefix(ISSUER))["Location"]
    token = rp.fetch_token(
        f"{ISSUER}/o/token/", authorization_response=location, code_verifier=verifier
    )
    assert (
        "organizacion"
        not in jwt.decode(
            token["id_token"], KeySet.import_key_set(rp.get(f"{ISSUER}/o/jwks/").json())
        ).claims
    )
    assert "organizacion" not in rp.get(f"{ISSUER}/o/userinfo/").json()


def test_or3_a_portal_asking_silently_gets_login_required_until_the_choice(
    two_orgs: Scene, local_portal
):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    sign_in(browser, two_orgs.member)  # the selector is pending
    rp = portal_session(local_portal)
    url, _ = rp.create_authorization_url(
        f"{ISSUER}/o/authorize/", code_verifier="v" * 50, nonce="n", prompt="none"
    )
    location = browser.get(url.removeprefix(ISSUER))["Location"]
    assert location.startswith(REDIRECT) and query_of(location)["error"] == "login_required"


def test_or3_switching_ends_the_portal_session_and_the_next_sign_in_names_the_new_one(
    two_orgs: Scene, local_portal, receiver, worker
):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    sign_in(browser, two_orgs.member)
    rp, claims = portal_sign_in(browser, local_portal)  # picks the first offered
    first = claims["organizacion"]["nit"]
    other = next(
        m
        for m in Membership.objects.filter(user=two_orgs.member)
        if m.organization.nit[:-1] != first.split("-")[0]
    )
    browser.post("/cuenta/organizaciones/elegir/", {"membership": other.pk})

    assert (
        Authorization.objects.filter(sid=claims["sid"], session_ended_at__isnull=True).count() == 0
    )
    assert rp.get(f"{ISSUER}/o/userinfo/").status_code == 401  # its tokens are revoked
    worker.drain()
    [delivery] = LogoutDelivery.objects.all()
    assert (delivery.reason, delivery.sid, delivery.status) == (
        "organization",
        claims["sid"],
        "sent",
    )
    assert len(receiver.tokens) == 1
    # The Portero session goes on: the portal's next sign-in needs no password.
    _, again = portal_sign_in(browser, local_portal)
    assert again["sid"] == claims["sid"]
    assert again["organizacion"]["id"] == str(other.organization.public_id)
    assert AuditEvent.objects.filter(event="sign_in.ok", user=two_orgs.member).count() == 1


def test_cancelling_a_member_ends_their_portal_sessions_acting_for_it(
    scene: Scene, local_portal, worker
):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    sign_in(browser, with_password(scene.member))
    rp, claims = portal_sign_in(browser, local_portal)
    assert claims["organizacion"]["role"] == "usuario"
    membership_decide(
        actor=scene.admin,
        membership=Membership.objects.get(user=scene.member),
        action="cancel",
        by=By.ADMINISTRATOR,
        client=SYSTEM,
    )
    assert rp.get(f"{ISSUER}/o/userinfo/").status_code == 401
    assert not ActingFor.objects.filter(sid=claims["sid"]).exists()
    _, again = portal_sign_in(browser, local_portal)
    assert "organizacion" not in again
