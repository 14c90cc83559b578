"""What portals learn about second factors: `amr` (RFC 8176) and `acr`, and a step-up when a
portal asks for two factors with acr_values."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from tests.federation.conftest import get_code, query_of, redeem, verify_id_token
from tests.helpers import sign_in_with_factor, with_second_factor

pytestmark = pytest.mark.django_db
MFA = "urn:portero:acr:mfa"


def test_a_password_and_a_code_give_amr_otp_and_the_mfa_acr(user, portal):
    codes, _ = with_second_factor(user)
    browser = Client()
    sign_in_with_factor(browser, "gongoragabriela", PASSWORD, codes[0])
    claims = verify_id_token(redeem(portal, get_code(browser, portal)).json()["id_token"], portal)
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == MFA


def test_acr_values_asks_a_password_only_session_to_step_up_then_goes_on(user, portal):
    codes, _ = with_second_factor(user)
    browser = Client()
    browser.force_login(user)  # a session that gave the password only...
    session = browser.session
    session["portero_sid"], session["portero_amr"] = "sid-for-the-test", ["pwd"]
    session.save()
    asked = browser.get("/o/authorize/", portal.authorize_params(acr_values=MFA))
    assert asked["Location"] == "/ingresar/verificacion/"
    back = browser.post("/ingresar/verificacion/", {"method": "backup", "code": codes[0]})
    assert back["Location"].startswith("/o/authorize/?")
    code = query_of(browser.get(back["Location"])["Location"])["code"]
    claims = verify_id_token(redeem(portal, code).json()["id_token"], portal)
    assert claims["acr"] == MFA and "otp" in claims["amr"] and claims["sid"] == "sid-for-the-test"


def test_acr_values_without_a_factor_returns_what_was_done(user, portal):
    """`acr` is a voluntary claim: with no factor to ask for, the portal learns the truth."""
    browser = Client()
    assert (
        browser.post(
            "/ingresar/", {"username": "gongoragabriela", "password": PASSWORD}
        ).status_code
        == 302
    )
    code = get_code(browser, portal, acr_values=MFA)
    claims = verify_id_token(redeem(portal, code).json()["id_token"], portal)
    assert claims["acr"] == "urn:portero:acr:pwd"


def test_prompt_none_with_acr_values_and_no_second_factor_in_session_says_login_required(
    user, portal
):
    with_second_factor(user)
    browser = Client()
    browser.force_login(user)
    session = browser.session
    session["portero_sid"], session["portero_amr"] = "sid-2", ["pwd"]
    session.save()
    answer = browser.get("/o/authorize/", portal.authorize_params(acr_values=MFA, prompt="none"))
    assert query_of(answer["Location"])["error"] == "login_required"


def test_discovery_lists_both_acr_values(db):
    assert Client().get("/.well-known/openid-configuration").json()["acr_values_supported"] == [
        "urn:portero:acr:pwd",
        MFA,
    ]
