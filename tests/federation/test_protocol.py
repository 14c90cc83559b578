"""The OpenID Connect provider against the protocol (SECURITY.md K, OI1-OI5), in process."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from portero.federation.clients import client_add, client_rotate_secret
from portero.federation.models import Authorization, Subject
from tests.federation.conftest import (
    REDIRECT,
    Portal,
    get_code,
    query_of,
    redeem,
    sign_in,
    verify_id_token,
)

pytestmark = pytest.mark.django_db


def userinfo(access_token: str) -> Any:
    return Client().get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {access_token}")


def test_discovery_advertises_the_code_flow_s256_and_back_channel_logout(db):
    data = Client().get("/.well-known/openid-configuration").json()
    assert data["issuer"] == "https://cuentas.portero.test"
    assert data["response_types_supported"] == ["code"]
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["id_token_signing_alg_values_supported"] == ["RS256"]
    assert (
        data["backchannel_logout_supported"] is data["backchannel_logout_session_supported"] is True
    )
    for endpoint in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "revocation_endpoint",
    ):
        assert data[endpoint].startswith("https://cuentas.portero.test/o/"), endpoint


def test_oi4_id_token_is_signed_and_carries_every_required_claim(portal, browser, user):
    code = get_code(browser, portal)
    tokens = redeem(portal, code).json()
    claims = verify_id_token(tokens["id_token"], portal)

    assert claims["iss"] == "https://cuentas.portero.test"
    assert claims["aud"] == portal.client_id
    assert claims["nonce"] == portal.nonce
    for name in ("exp", "iat", "auth_time", "sid"):
        assert claims[name], name
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:portero:acr:pwd"
    assert claims["sid"] != browser.session.session_key
    assert claims["sub"] not in {user.username, user.email, str(user.pk)}
    assert len(claims["sub"]) >= 32


def test_oi4_sub_is_the_same_for_every_sign_in_and_every_portal(portal, browser, user):
    other = client_add(
        name="Otro portal", redirect_uris=["https://otro.example/cb"], post_logout_redirect_uris=[]
    )
    second = Portal(other.client_id, other.client_secret, redirect_uri="https://otro.example/cb")
    first_sub = verify_id_token(
        redeem(portal, get_code(browser, portal)).json()["id_token"], portal
    )["sub"]
    again = Client()
    sign_in(again)
    second_sub = verify_id_token(
        redeem(second, get_code(again, second)).json()["id_token"], second
    )["sub"]
    assert first_sub == second_sub == Subject.objects.get(user=user).sub


def test_userinfo_answers_by_scope(portal, browser, user):
    only_openid = redeem(portal, get_code(browser, portal, scope="openid")).json()
    assert set(userinfo(only_openid["access_token"]).json()) == {"sub"}

    full = redeem(portal, get_code(browser, portal)).json()
    claims = userinfo(full["access_token"]).json()
    assert claims["preferred_username"] == "gongoragabriela"
    assert claims["name"] == "Gabriela Góngora"
    assert claims["locale"] == "es-CO"
    assert claims["email"] == "gabriela@example.com"
    assert claims["email_verified"] is False  # no link sent to it was ever used


def test_email_is_verified_once_a_link_sent_to_it_was_used(portal, client, user, mailbox, worker):
    from tests.conftest import NEW_PASSWORD
    from tests.helpers import ask_reset, link_in, set_password

    ask_reset(client, user.username)
    worker.drain()
    set_password(client, link_in(mailbox.messages[0]), NEW_PASSWORD)
    sign_in(client, password=NEW_PASSWORD)
    tokens = redeem(portal, get_code(client, portal)).json()
    assert verify_id_token(tokens["id_token"], portal)["email_verified"] is True


@pytest.mark.parametrize(
    "change",
    [
        {"code_challenge_method": "plain"},
        {"code_challenge": "", "code_challenge_method": ""},
    ],
)
def test_oi1_authorization_without_s256_pkce_is_refused(portal, browser, change):
    params = portal.authorize_params(**change)
    if change.get("code_challenge") == "":
        params = {k: v for k, v in params.items() if not k.startswith("code_challenge")}
    response = browser.get("/o/authorize/", params)
    assert response.status_code == 302
    query = query_of(response["Location"])
    assert query["error"] == "invalid_request" and query["state"] == portal.state
    assert "code" not in query


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "id_token token"])
def test_oi1_implicit_and_hybrid_flows_are_refused(portal, browser, response_type):
    response = browser.get("/o/authorize/", portal.authorize_params(response_type=response_type))
    assert response.status_code == 302
    location = response["Location"]
    assert "error=" in location and "access_token" not in location and "id_token=" not in location


def test_oi1_a_wrong_or_missing_verifier_gets_no_token(portal, browser):
    code = get_code(browser, portal)
    assert redeem(portal, code, code_verifier="x" * 50).json()["error"] == "invalid_grant"
    form = portal.token_form(code)
    del form["code_verifier"]
    assert Client().post("/o/token/", form).status_code == 400


def test_oi1_a_public_client_needs_pkce_too(db, browser):
    public = client_add(
        name="App pública", redirect_uris=[REDIRECT], post_logout_redirect_uris=[], public=True
    )
    assert public.client_secret is None
    portal = Portal(public.client_id, None)
    params = {k: v for k, v in portal.authorize_params().items() if not k.startswith("code_chal")}
    refused = browser.get("/o/authorize/", params)
    assert query_of(refused["Location"])["error"] == "invalid_request"
    tokens = redeem(portal, get_code(browser, portal)).json()
    assert verify_id_token(tokens["id_token"], portal)["aud"] == portal.client_id


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/cb",
        REDIRECT + "/",
        REDIRECT + "?x=1",
        REDIRECT.upper(),
        REDIRECT.replace("https", "http"),
    ],
)
def test_oi2_an_unregistered_redirect_uri_gets_portero_error_page_never_a_redirect(
    portal, browser, redirect_uri
):
    response = browser.get("/o/authorize/", portal.authorize_params(redirect_uri=redirect_uri))
    assert response.status_code == 400
    assert "Location" not in response
    assert "Esta solicitud de ingreso no se puede completar" in response.content.decode()


def test_oi2_an_unknown_client_gets_portero_error_page(portal, browser):
    response = browser.get("/o/authorize/", portal.authorize_params(client_id="nobody"))
    assert response.status_code in {400, 401} and "Location" not in response


def test_oi2_an_unregistered_post_logout_redirect_is_refused(portal, browser):
    tokens = redeem(portal, get_code(browser, portal)).json()
    response = browser.get(
        "/o/logout/",
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example/"},
    )
    assert response.status_code == 400 and "Location" not in response
    assert browser.get("/cuenta/").status_code == 200  # still signed in


def test_oi2_client_registration_requires_https_outside_loopback(db):
    from portero.federation.clients import ClientError

    with pytest.raises(ClientError, match="https"):
        client_add(
            name="x", redirect_uris=["http://portal.example/cb"], post_logout_redirect_uris=[]
        )
    client_add(
        name="local", redirect_uris=["http://127.0.0.1:8001/cb"], post_logout_redirect_uris=[]
    )


def test_oi3_a_code_works_once_and_its_second_use_revokes_what_the_first_gave(portal, browser):
    code = get_code(browser, portal)
    first = redeem(portal, code).json()
    assert userinfo(first["access_token"]).status_code == 200

    second = redeem(portal, code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert userinfo(first["access_token"]).status_code == 401
    refreshed = Client().post(
        "/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": portal.client_id,
            "client_secret": portal.client_secret,
        },
    )
    assert refreshed.status_code == 400


def test_oi3_an_expired_code_is_refused(portal, browser):
    code = get_code(browser, portal)
    Grant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert redeem(portal, code).json()["error"] == "invalid_grant"


def test_oi3_codes_last_60_seconds(portal, browser):
    get_code(browser, portal)
    grant = Grant.objects.get()
    assert timedelta(seconds=55) < grant.expires - timezone.now() <= timedelta(seconds=60)


def test_oi3_a_code_is_only_for_its_own_client(portal, browser):
    other = client_add(name="Otro", redirect_uris=[REDIRECT], post_logout_redirect_uris=[])
    code = get_code(browser, portal)
    thief = Portal(other.client_id, other.client_secret, verifier=portal.verifier)
    assert redeem(thief, code).json()["error"] == "invalid_grant"


def test_oi5_secrets_are_stored_hashed_and_a_wrong_one_says_nothing_more(portal, browser):
    stored = Application.objects.get(client_id=portal.client_id).client_secret
    assert portal.client_secret not in stored and stored.startswith("portero_secret_sha256$")
    code = get_code(browser, portal)
    wrong = redeem(portal, code, client_secret=portal.client_secret[:-1] + "x")
    unknown = redeem(portal, code, client_id="nobody")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"error": "invalid_client"}


def test_oi5_a_rotated_secret_replaces_the_old_one_at_once(portal, browser):
    fresh = client_rotate_secret(client_id=portal.client_id)
    assert redeem(portal, get_code(browser, portal)).status_code == 401
    portal.client_secret = fresh.client_secret
    assert redeem(portal, get_code(browser, portal)).status_code == 200


def test_secrets_also_work_with_http_basic(portal, browser):
    code = get_code(browser, portal)
    form = portal.token_form(code)
    del form["client_secret"], form["client_id"]
    basic = base64.b64encode(f"{portal.client_id}:{portal.client_secret}".encode()).decode()
    response = Client().post("/o/token/", form, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200


def _forged(header: dict[str, object], claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def test_userinfo_refuses_tampered_unsigned_and_id_tokens(portal, browser):
    tokens = redeem(portal, get_code(browser, portal)).json()
    head, body, sig = tokens["id_token"].split(".")
    tampered = f"{head}.{body[:-2]}AA.{sig}"
    unsigned = _forged({"alg": "none", "typ": "JWT"}, {"sub": "x", "aud": portal.client_id})
    for bad in (tampered, unsigned, tokens["id_token"], tokens["access_token"] + "x", ""):
        assert userinfo(bad).status_code == 401, bad
    assert userinfo(tokens["access_token"]).status_code == 200


def test_logout_refuses_an_unsigned_id_token_hint(portal, browser):
    unsigned = _forged(
        {"alg": "none"},
        {"iss": "https://cuentas.portero.test", "aud": portal.client_id, "jti": "x"},
    )
    response = browser.get("/o/logout/", {"id_token_hint": unsigned})
    assert response.status_code == 400
    assert browser.get("/cuenta/").status_code == 200


def test_refresh_rotates_and_a_replayed_refresh_token_revokes_the_family(portal, browser):
    first = redeem(portal, get_code(browser, portal)).json()
    form = {
        "grant_type": "refresh_token",
        "client_id": portal.client_id,
        "client_secret": portal.client_secret,
    }
    second = Client().post("/o/token/", {**form, "refresh_token": first["refresh_token"]}).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (
        verify_id_token(second["id_token"], portal)["sid"]
        == verify_id_token(first["id_token"], portal)["sid"]
    )

    replay = Client().post("/o/token/", {**form, "refresh_token": first["refresh_token"]})
    assert replay.status_code == 400
    assert userinfo(second["access_token"]).status_code == 401
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_revocation_endpoint_revokes_a_refresh_token(portal, browser):
    tokens = redeem(portal, get_code(browser, portal)).json()
    response = Client().post(
        "/o/revoke_token/",
        {
            "token": tokens["refresh_token"],
            "client_id": portal.client_id,
            "client_secret": portal.client_secret,
        },
    )
    assert response.status_code == 200
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()
    assert not AccessToken.objects.exists()


def test_prompt_none_without_a_session_answers_login_required(portal, client):
    response = client.get("/o/authorize/", portal.authorize_params(prompt="none"))
    query = query_of(response["Location"])
    assert response["Location"].startswith(REDIRECT)
    assert query["error"] == "login_required" and query["state"] == portal.state


def test_prompt_none_with_a_session_signs_in_silently(portal, browser):
    assert get_code(browser, portal, prompt="none")


def test_single_sign_on_a_second_portal_needs_no_password(portal, browser):
    other = client_add(
        name="Gestión contractual",
        redirect_uris=["https://gestion.example/cb"],
        post_logout_redirect_uris=[],
    )
    second = Portal(other.client_id, other.client_secret, redirect_uri="https://gestion.example/cb")
    first_sid = verify_id_token(
        redeem(portal, get_code(browser, portal)).json()["id_token"], portal
    )["sid"]
    claims = verify_id_token(redeem(second, get_code(browser, second)).json()["id_token"], second)
    assert claims["sid"] == first_sid


def test_prompt_login_asks_for_the_password_again_and_signing_in_again_works(portal, browser):
    response = browser.get("/o/authorize/", portal.authorize_params(prompt="login"))
    assert response.status_code == 302 and response["Location"].startswith("/ingresar/")
    again = sign_in(browser)  # the same person in the same browser: no 500 (issue 14, item 0)
    assert again.status_code == 302 and again["Location"].startswith("/o/authorize/")
    assert "prompt" not in again["Location"]
    follow = browser.get(again["Location"])
    assert follow["Location"].startswith(REDIRECT)


def test_max_age_older_than_the_session_asks_for_the_password(portal, browser, clock):
    assert get_code(browser, portal, max_age="600")
    clock.advance(timedelta(seconds=601))
    response = browser.get("/o/authorize/", portal.authorize_params(max_age="600"))
    assert response["Location"].startswith("/ingresar/")
    again = sign_in(browser)
    code = query_of(browser.get(again["Location"])["Location"])["code"]
    claims = verify_id_token(redeem(portal, code).json()["id_token"], portal)
    assert claims["auth_time"] >= int(clock.now().timestamp()) - 5


def test_an_unknown_scope_goes_back_to_the_portal_with_error_and_state(portal, browser):
    response = browser.get("/o/authorize/", portal.authorize_params(scope="openid admin"))
    query = query_of(response["Location"])
    assert query["error"] == "invalid_scope" and query["state"] == portal.state


def test_tokens_name_the_session_they_came_from(portal, browser):
    redeem(portal, get_code(browser, portal))
    authorization = Authorization.objects.get()
    assert authorization.used_at is not None and authorization.token_family is not None
    assert authorization.sid == browser.session["portero_sid"]


def test_every_redirect_back_names_the_issuer_errors_included(portal, client, browser):
    """RFC 9207: `iss` in every authorization response, so a portal can tell providers apart."""
    refused = client.get("/o/authorize/", portal.authorize_params(prompt="none"))
    assert query_of(refused["Location"])["iss"] == "https://cuentas.portero.test"
    bad_scope = browser.get("/o/authorize/", portal.authorize_params(scope="openid admin"))
    assert query_of(bad_scope["Location"])["iss"] == "https://cuentas.portero.test"
    ok = browser.get("/o/authorize/", portal.authorize_params())
    assert query_of(ok["Location"])["iss"] == "https://cuentas.portero.test"
    assert ok["Location"].count("iss=") == 1
