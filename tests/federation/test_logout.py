"""Ending a Portero session ends it at every portal (OI6): back-channel logout tokens through
a durable outbox, delivered by the real worker to a real HTTP endpoint on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import KeySet
from oauth2_provider.models import AccessToken, RefreshToken

from portero.accounts.models import User
from portero.accounts.services import sessions_purge_expired, user_set_active
from portero.federation.clients import client_add
from portero.federation.logout import BACKCHANNEL_EVENT, logout_requeue
from portero.federation.models import DeliveryStatus, LogoutDelivery
from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.federation.conftest import (
    AFTER_LOGOUT,
    Portal,
    get_code,
    query_of,
    redeem,
    sign_in,
    verify_id_token,
)
from tests.helpers import ask_reset, link_in, set_password

pytestmark = pytest.mark.django_db


def signed_in_portal(browser: Client, portal: Portal) -> dict[str, str]:
    """Sign the browser in to the portal; return the portal's tokens."""
    return redeem(portal, get_code(browser, portal)).json()


def logout_claims(token: str, portal: Portal) -> dict[str, object]:
    keys = KeySet.import_key_set(Client().get("/o/jwks/").json())
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    assert decoded.header["typ"] == "logout+jwt"
    return dict(decoded.claims)


def test_oi6_signing_out_sends_a_signed_logout_token_through_the_worker(
    local_portal, browser, receiver, worker
):
    tokens = signed_in_portal(browser, local_portal)
    sid = verify_id_token(tokens["id_token"], local_portal)["sid"]

    browser.post("/salir/")
    assert receiver.tokens == []  # never inside the web request
    delivery = LogoutDelivery.objects.get()
    assert delivery.status == DeliveryStatus.QUEUED

    worker.drain()
    assert len(receiver.tokens) == 1
    claims = logout_claims(receiver.tokens[0], local_portal)
    assert claims["iss"] == "https://cuentas.portero.test"
    assert claims["aud"] == local_portal.client_id
    assert claims["sid"] == sid
    assert claims["sub"] == verify_id_token(tokens["id_token"], local_portal)["sub"]
    assert claims["events"] == {BACKCHANNEL_EVENT: {}}
    assert claims["jti"] and claims["iat"]
    assert "nonce" not in claims
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.sent_at is not None


def test_oi6_the_session_refresh_tokens_are_revoked_at_once(local_portal, browser):
    tokens = signed_in_portal(browser, local_portal)
    browser.post("/salir/")
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()
    assert not AccessToken.objects.exists()
    refreshed = Client().post(
        "/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": local_portal.client_id,
            "client_secret": local_portal.client_secret,
        },
    )
    assert refreshed.status_code == 400


def test_oi6_a_password_reset_elsewhere_signs_the_person_out_of_the_portal(
    local_portal, browser, receiver, mailbox, worker, user
):
    signed_in_portal(browser, local_portal)
    other_browser = Client()
    ask_reset(other_browser, user.username)
    worker.drain()
    set_password(other_browser, link_in(mailbox.messages[0]), NEW_PASSWORD)
    worker.drain()
    assert len(receiver.tokens) == 1
    assert browser.get("/cuenta/").status_code == 302  # Portero's session ended too


@pytest.mark.parametrize("end", ["change_password", "other_sessions", "helpdesk", "expiry"])
def test_oi6_every_way_a_session_ends_reaches_the_portal(local_portal, browser, user, end, clock):
    signed_in_portal(browser, local_portal)
    here = Client()
    sign_in(here)
    if end == "change_password":
        here.post(
            "/cuenta/contrasena/",
            {
                "current_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
    elif end == "other_sessions":
        here.post("/cuenta/sesiones/")
    elif end == "helpdesk":
        user_set_active(user=user, active=False)
    else:
        Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
        sessions_purge_expired()
    delivery = LogoutDelivery.objects.get()
    assert delivery.application.client_id == local_portal.client_id
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_oi6_only_portals_that_got_tokens_in_that_session_are_told(local_portal, browser, receiver):
    other = client_add(
        name="Sin tokens",
        redirect_uris=["https://otro.example/cb"],
        post_logout_redirect_uris=[],
        backchannel_logout_uri=receiver.uri,
    )
    assert other.client_id
    get_code(browser, local_portal)  # a code never redeemed gives no tokens: nothing to end
    signed_in_elsewhere = Client()
    sign_in(signed_in_elsewhere)
    signed_in_portal(signed_in_elsewhere, local_portal)
    browser.post("/salir/")
    assert LogoutDelivery.objects.count() == 0


def test_oi6_a_portal_that_is_down_is_retried_with_backoff_and_the_help_desk_sees_it(
    local_portal, browser, receiver, worker, clock
):
    signed_in_portal(browser, local_portal)
    receiver.status = 503
    browser.post("/salir/")
    worker.drain()
    delivery = LogoutDelivery.objects.get()
    assert delivery.status == DeliveryStatus.RETRYING and delivery.attempts == 1
    assert "503" in delivery.last_error
    assert delivery.next_attempt_at > clock.now()

    worker.drain()  # not due yet
    assert LogoutDelivery.objects.get().attempts == 1

    receiver.status = 200
    clock.advance(timedelta(minutes=5))
    worker.drain()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and len(receiver.tokens) == 1


def test_oi6_a_refused_logout_token_fails_visibly_and_can_be_sent_again(
    local_portal, browser, receiver, worker
):
    signed_in_portal(browser, local_portal)
    receiver.status = 400
    browser.post("/salir/")
    worker.drain()
    delivery = LogoutDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and "400" in delivery.last_error

    receiver.status = 200
    assert logout_requeue(delivery=delivery)
    worker.drain()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT


def test_oi6_an_unreachable_portal_gives_up_after_the_retry_window(
    local_portal, browser, worker, clock, receiver
):
    signed_in_portal(browser, local_portal)
    receiver.status = 500
    browser.post("/salir/")
    for _ in range(40):
        worker.drain()
        clock.advance(timedelta(hours=1))
    delivery = LogoutDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts > 3


def test_rp_initiated_logout_signs_out_and_returns_to_the_portal_with_state(
    local_portal, browser, receiver, worker
):
    tokens = signed_in_portal(browser, local_portal)
    response = browser.get(
        "/o/logout/",
        {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": AFTER_LOGOUT,
            "state": "xyz",
        },
    )
    assert response.status_code == 302
    assert (
        response["Location"].startswith(AFTER_LOGOUT)
        and query_of(response["Location"])["state"] == "xyz"
    )
    assert browser.get("/cuenta/").status_code == 302
    worker.drain()
    assert len(receiver.tokens) == 1  # every portal of the session is told, this one too


def test_rp_initiated_logout_without_a_hint_asks_first(local_portal, browser):
    response = browser.get("/o/logout/", {"client_id": local_portal.client_id})
    assert response.status_code == 200
    assert "¿Cerrar sesión?" in response.content.decode()
    assert browser.get("/cuenta/").status_code == 200


def test_logout_of_a_session_without_portals_queues_nothing(user, browser):
    browser.post("/salir/")
    assert not LogoutDelivery.objects.exists()


@pytest.mark.parametrize("how", ["help_desk", "database"])
def test_a_disabled_account_gets_no_tokens_from_a_code_it_already_had(
    local_portal, browser, user, how
):
    code = get_code(browser, local_portal)
    if how == "help_desk":
        user_set_active(user=user, active=False)
    else:  # even without its sessions ended
        User.objects.filter(pk=user.pk).update(is_active=False)
    assert redeem(local_portal, code).json()["error"] == "invalid_grant"


def test_a_disabled_account_cannot_refresh(local_portal, browser, user):
    tokens = signed_in_portal(browser, local_portal)
    User.objects.filter(pk=user.pk).update(is_active=False)
    refreshed = Client().post(
        "/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": local_portal.client_id,
            "client_secret": local_portal.client_secret,
        },
    )
    assert refreshed.status_code == 400


def test_finished_history_is_purged_after_the_retention_period(
    local_portal, browser, worker, clock, settings
):
    from portero.federation.housekeeping import federation_history_purge
    from portero.federation.models import Authorization

    signed_in_portal(browser, local_portal)
    live = Client()
    sign_in(live)
    signed_in_portal(live, local_portal)
    browser.post("/salir/")
    worker.drain()
    clock.advance(timedelta(days=settings.PORTERO_RECOVERY_RETENTION_DAYS + 1))
    assert federation_history_purge() == 2  # the ended session's row and its delivery
    assert Authorization.objects.count() == 1  # a live session's row stays
    assert not LogoutDelivery.objects.exists()


def test_rp_initiated_logout_after_the_session_ended_still_returns_to_the_portal(
    local_portal, browser
):
    tokens = signed_in_portal(browser, local_portal)
    browser.post("/salir/")  # signed out at Portero first; the portal's session lives on
    response = browser.get(
        "/o/logout/",
        {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": AFTER_LOGOUT,
            "state": "s1",
        },
    )
    assert response.status_code == 302 and response["Location"].startswith(AFTER_LOGOUT)
    assert query_of(response["Location"])["state"] == "s1"


def test_a_refused_logout_request_says_sign_out_not_sign_in(local_portal, browser):
    response = browser.get(
        "/o/logout/",
        {"client_id": local_portal.client_id, "post_logout_redirect_uri": "https://evil.example/"},
    )
    assert response.status_code == 400
    assert "Esta solicitud de cierre de sesión no se puede completar" in response.content.decode()
