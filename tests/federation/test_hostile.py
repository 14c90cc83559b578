"""Malformed, hostile and unlucky requests to the provider: a clear refusal, never a 500,
never a token that outlives its session."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken

from portero.federation.clients import client_add
from portero.federation.logout import logouts_deliver_due
from portero.federation.models import Authorization, DeliveryStatus, LogoutDelivery
from portero.federation.validators import PorteroValidator
from tests.conftest import PASSWORD
from tests.federation.conftest import (
    AFTER_LOGOUT,
    REDIRECT,
    Portal,
    get_code,
    query_of,
    redeem,
    sign_in,
)
from tests.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_portal(db: None) -> Portal:
    return Portal(
        client_add(
            name="App", redirect_uris=[REDIRECT], post_logout_redirect_uris=[], public=True
        ).client_id,
        None,
    )


@pytest.mark.parametrize(
    "grant",
    ["password", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code", "", "x"],
)
def test_oi1_only_the_code_and_refresh_grants_exist(public_portal, user, grant):
    """The password grant would check passwords outside the sign-in throttles (LI2, LI3)."""
    for password in ("wrong password 123456", PASSWORD):
        response = Client().post(
            "/o/token/",
            {
                "grant_type": grant,
                "username": user.username,
                "password": password,
                "client_id": public_portal.client_id,
            },
        )
        assert response.status_code == 400
        assert response.json() == {"error": "unsupported_grant_type"}


def test_the_validator_never_checks_a_password(user):
    assert PorteroValidator().validate_user(user.username, PASSWORD, None, None) is False


@pytest.mark.parametrize("where", ["client_id", "nonce", "code_challenge", "state"])
def test_a_nul_character_in_an_authorization_request_is_refused(portal, browser, where):
    response = browser.get("/o/authorize/", portal.authorize_params(**{where: "a\x00b"}))
    assert response.status_code == 400 and "Location" not in response


def test_a_nul_character_elsewhere_is_refused(portal, browser):
    assert redeem(portal, "a\x00b").status_code == 400
    assert browser.get("/o/logout/", {"client_id": "a\x00b"}).status_code == 400
    assert browser.post("/cuenta/aplicaciones/a%00b/revocar/").status_code == 400


@pytest.mark.parametrize("max_age", ["²", "-1", "1e3", "9" * 40, ""])
def test_odd_max_age_values_never_break_the_page(portal, browser, max_age):
    response = browser.get("/o/authorize/", portal.authorize_params(max_age=max_age))
    assert response.status_code == 302


def test_prompt_none_with_a_too_old_sign_in_answers_login_required(portal, browser, clock):
    clock.advance(timedelta(seconds=120))
    response = browser.get("/o/authorize/", portal.authorize_params(prompt="none", max_age="60"))
    assert query_of(response["Location"])["error"] == "login_required"


@pytest.mark.parametrize(
    "extra",
    [{"response_mode": "fragment"}, {"request": "eyJ"}, {"request_uri": "https://evil.example/r"}],
)
def test_unsupported_request_features_are_refused_not_ignored(portal, browser, extra):
    response = browser.get("/o/authorize/", portal.authorize_params(**extra))
    assert response.status_code == 400 and "Location" not in response


def test_logout_with_an_unknown_client_gets_the_error_page(browser):
    for response in (
        browser.get("/o/logout/", {"client_id": "nope"}),
        browser.post("/o/logout/", {"client_id": "nope"}),
    ):
        assert response.status_code == 400
    assert browser.get("/cuenta/").status_code == 200


def test_repeated_scopes_are_kept_once(portal, browser):
    code = get_code(browser, portal, scope="openid " * 60 + "profile")
    assert redeem(portal, code).status_code == 200
    assert Authorization.objects.get().scope == "openid profile"


def test_oi6_an_old_id_token_cannot_end_a_newer_session_without_asking(portal, browser):
    old = redeem(portal, get_code(browser, portal)).json()["id_token"]
    browser.post("/salir/")
    sign_in(browser)
    response = browser.get(
        "/o/logout/", {"id_token_hint": old, "post_logout_redirect_uri": AFTER_LOGOUT}
    )
    assert response.status_code == 200  # the confirmation page
    assert browser.get("/cuenta/").status_code == 200


def test_oi6_a_code_redeemed_while_its_session_ends_gives_nothing(portal, browser, monkeypatch):
    code = get_code(browser, portal)
    real = PorteroValidator._create_refresh_token

    def session_ends_meanwhile(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        Authorization.objects.update(session_ended_at=timezone.now())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(PorteroValidator, "_create_refresh_token", session_ends_meanwhile)
    assert redeem(portal, code).json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_oi3_a_used_code_replayed_by_another_client_still_revokes(portal, browser):
    other = client_add(name="Otro", redirect_uris=[REDIRECT], post_logout_redirect_uris=[])
    code = get_code(browser, portal)
    first = redeem(portal, code).json()
    thief = Portal(other.client_id, other.client_secret, verifier=portal.verifier)
    assert redeem(thief, code).json()["error"] == "invalid_grant"
    assert (
        Client()
        .get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {first['access_token']}")
        .status_code
        == 401
    )


def test_a_session_from_before_portals_must_sign_in_again(portal, browser):
    session = browser.session
    del session["portero_sid"]
    session.save()
    response = browser.get("/o/authorize/", portal.authorize_params())
    assert response["Location"].startswith("/ingresar/")
    silent = browser.get("/o/authorize/", portal.authorize_params(prompt="none"))
    assert query_of(silent["Location"])["error"] == "login_required"
    assert not Authorization.objects.exists()


def test_se2_no_refresh_after_the_session_lapsed_even_before_the_purge(portal, browser):
    tokens = redeem(portal, get_code(browser, portal)).json()
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))  # idle
    refreshed = Client().post(
        "/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": portal.client_id,
            "client_secret": portal.client_secret,
        },
    )
    assert refreshed.status_code == 400


def test_se2_no_refresh_past_the_absolute_session_lifetime(portal, browser, clock, settings):
    tokens = redeem(portal, get_code(browser, portal)).json()
    clock.advance(timedelta(hours=settings.PORTERO_SESSION_MAX_HOURS, minutes=1))
    refreshed = Client().post(
        "/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": portal.client_id,
            "client_secret": portal.client_secret,
        },
    )
    assert refreshed.status_code == 400


def test_prompt_consent_asks_again_even_with_consent_on_file(db, browser):
    asking = client_add(
        name="Terceros", redirect_uris=[REDIRECT], post_logout_redirect_uris=[], consent=True
    )
    third = Portal(asking.client_id, asking.client_secret)
    page = browser.get("/o/authorize/", third.authorize_params())
    form = {k: v for k, v in page.context["form"].initial.items() if v}
    browser.post("/o/authorize/", {**form, "allow": "Authorize"})
    again = browser.get("/o/authorize/", third.authorize_params(prompt="consent"))
    assert again.status_code == 200 and "Permitir" in again.content.decode()


# --- a portal's back-channel endpoint that misbehaves -------------------------------------


def _serve(answer: bytes, trickle: bool = False) -> Iterator[str]:
    """A raw TCP server on loopback that answers every connection with `answer`."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", free_port()))
    listener.listen()
    stop = threading.Event()

    def run() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                pieces = [bytes([byte]) for byte in answer] if trickle else [answer]
                for piece in pieces:
                    if stop.is_set():
                        break
                    conn.sendall(piece)
                    if trickle:
                        time.sleep(0.5)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/logout"
    stop.set()
    thread.join(timeout=5)
    listener.close()


@pytest.fixture
def endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _serve(*request.param)


def _queue_one(uri: str, browser: Client) -> LogoutDelivery:
    registered = client_add(
        name="Portal raro",
        redirect_uris=[REDIRECT],
        post_logout_redirect_uris=[],
        backchannel_logout_uri=uri,
    )
    portal = Portal(registered.client_id, registered.client_secret)
    assert redeem(portal, get_code(browser, portal)).status_code == 200
    browser.post("/salir/")
    return LogoutDelivery.objects.get()


@pytest.mark.parametrize(
    "endpoint",
    [(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/x\r\nContent-Length: 0\r\n\r\n",)],
    indirect=True,
)
def test_oi6_a_redirect_is_not_a_delivery(endpoint, browser, settings):
    delivery = _queue_one(endpoint, browser)
    logouts_deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and "302" in delivery.last_error


@pytest.mark.parametrize("endpoint", [(b"garbage\r\n\r\n",)], indirect=True)
def test_oi6_a_garbage_answer_is_retried_and_the_worker_goes_on(endpoint, browser, worker):
    delivery = _queue_one(endpoint, browser)
    worker.drain()  # returns: the worker survives it
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING and delivery.last_error


@pytest.mark.parametrize(
    "endpoint", [(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", True)], indirect=True
)
def test_oi6_a_trickling_portal_cannot_hold_the_worker(endpoint, browser, settings):
    settings.PORTERO_LOGOUT_TIMEOUT_SECONDS = 1
    delivery = _queue_one(endpoint, browser)
    started = time.monotonic()
    logouts_deliver_due()
    assert time.monotonic() - started < 4
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING
