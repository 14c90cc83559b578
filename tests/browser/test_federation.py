"""Signing in to a portal through Portero, in a real browser: the demo portal (an outside site
run with gunicorn, Authlib as its OpenID Connect client) against `portero serve` and `portero
worker`.

Each test registers the portal in the test database (emptied between tests) and starts it with
those credentials. The portal is Spanish only, so the journeys run in Spanish; axe-core checks
Portero's federation pages in both languages.
"""

from __future__ import annotations

import json
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt

from portero.demo.management.commands.demo import (
    PORTAL_NAME,
    PortalClient,
    portal_command,
    portal_environment,
    portal_origin,
    portal_registration,
)
from portero.federation.clients import client_add
from portero.federation.keys import KeyRing, SigningKey
from portero.federation.logout import BACKCHANNEL_EVENT
from portero.federation.models import DeliveryStatus, LogoutDelivery
from tests.browser.support import (
    NEW_PASSWORD,
    Profile,
    SiteInfo,
    axe_violations,
    describe_violations,
    import_playwright,
    link_in,
    mail_to,
    new_account,
)
from tests.conftest import PASSWORD, SMTPSink
from tests.processes import child_env, free_port, wait_until_serving

expect = import_playwright().expect
pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP = Profile("es-CO", "desktop")
PHONE = Profile("es-CO", "mobile")
FULL_NAME = "Proveedora de Prueba S.A.S."  # new_account's
SENT = re.compile(r"/recuperar/contrasena/enviado/$")
ALLOW = {"es-CO": "Permitir", "en": "Allow"}
DENY = {"es-CO": "No permitir", "en": "Do not allow"}
APPLICATIONS = {"es-CO": "Aplicaciones", "en": "Applications"}


@dataclass
class Portal:
    """The demo portal running for one test: its origin and its client id at Portero."""

    base: str
    client_id: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _deliveries_done() -> bool:
    """True when the worker holds no back-channel logout still to be posted."""
    busy = [DeliveryStatus.QUEUED, DeliveryStatus.SENDING]
    return not LogoutDelivery.objects.filter(status__in=busy).exists()


@pytest.fixture
def start_portal(
    site: SiteInfo, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Portal]]:
    """Register the demo portal and start it as `portero demo` does, on a free port.

    Afterwards, the worker's logout tokens reach the portal before it stops and before the
    tables are emptied.
    """
    started: list[tuple[subprocess.Popen[bytes], Portal]] = []

    def start(*, consent: bool = False) -> Portal:
        port = free_port()
        credentials = client_add(name=PORTAL_NAME, consent=consent, **portal_registration(port))
        client = PortalClient(
            credentials.client_id, str(credentials.client_secret), secrets.token_urlsafe(50)
        )
        env = portal_environment(
            client=client, issuer=site.base, port=port, database=tmp_path / "portal.sqlite3"
        )
        portal = Portal(portal_origin(port), client.client_id, tmp_path / f"portal-{port}.log")
        with portal.log.open("wb") as out:
            process = subprocess.Popen(
                portal_command(port), env=child_env(env), stdout=out, stderr=subprocess.STDOUT
            )
        started.append((process, portal))
        wait_until_serving(f"{portal.base}/", process, portal.output)
        return portal

    yield start
    deadline = time.monotonic() + 15
    while not _deliveries_done() and time.monotonic() < deadline:
        time.sleep(0.1)
    report = getattr(request.node, "rep_call", None)
    for process, portal in started:
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        process.wait(timeout=20)
        if report is not None and report.failed:
            print(f"--- portal log (tail)\n{portal.output()}")


def _heading(page: Any) -> Any:
    return page.get_by_role("heading", level=1)


def enter_through_portal(page: Any, portal: Portal) -> None:
    """On the portal's home page, press "Ingresar": Portero's sign-in page names the portal."""
    page.goto(f"{portal.base}/")
    expect(_heading(page)).to_have_text(PORTAL_NAME)
    page.get_by_role("link", name="Ingresar", exact=True).click()
    expect(page).to_have_url(re.compile(r"/ingresar/\?next=/o/authorize/"))


def sign_in(page: Any, profile: Profile, username: str, password: str) -> None:
    t = profile.text
    page.get_by_label(t["username"], exact=True).fill(username)
    page.get_by_label(t["password"], exact=True).fill(password)
    page.get_by_role("button", name=t["sign_in"], exact=True).click()


def expect_signed_in_at_portal(page: Any, portal: Portal) -> None:
    expect(page).to_have_url(f"{portal.base}/")
    expect(page.get_by_text(f"Ingresó como {FULL_NAME}.")).to_be_visible()
    expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()


def reset_password(
    page: Any,
    profile: Profile,
    mail: SMTPSink,
    username: str,
    email: str,
    password: str,
    *,
    count: int = 1,
) -> None:
    """From the sign-in page on screen: "¿Olvidó su contraseña?", the e-mail, a new password."""
    t = profile.text
    page.get_by_role("link", name=t["forgot_password"]).click()
    page.get_by_label(t["username"], exact=True).fill(username)
    page.get_by_role("button", name=t["send"]).click()
    expect(page).to_have_url(SENT)
    page.goto(link_in(mail_to(mail, email, count=count)[count - 1]))
    page.get_by_label(t["new_password"], exact=True).fill(password)
    page.get_by_label(t["confirm_password"], exact=True).fill(password)
    page.get_by_role("button", name=t["change_password"]).click()
    expect(_heading(page)).to_have_text(t["changed"])


def test_the_seeds_journey_from_a_portal_ends_signed_in_there_and_a_later_reset_signs_out(
    new_context: Any, start_portal: Callable[..., Portal], mail: SMTPSink
) -> None:
    portal = start_portal()
    user = new_account(DESKTOP)
    laptop = new_context(DESKTOP).new_page()
    enter_through_portal(laptop, portal)
    expect(laptop.get_by_text(f"Ingrese para continuar a {PORTAL_NAME}.")).to_be_visible()
    reset_password(laptop, DESKTOP, mail, user.username, user.email, NEW_PASSWORD)
    laptop.get_by_role("link", name=f"Ingresar y continuar a {PORTAL_NAME}").click()
    sign_in(laptop, DESKTOP, user.username, NEW_PASSWORD)
    expect_signed_in_at_portal(laptop, portal)

    # Another device resets the password: every Portero session ends, and with it, through
    # the worker's back-channel logout, the portal's.
    phone = new_context(PHONE).new_page()
    phone.goto("/ingresar/")
    reset_password(
        phone, PHONE, mail, user.username, user.email, NEW_PASSWORD + " otra vez", count=2
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        laptop.reload()
        if laptop.get_by_role("link", name="Ingresar", exact=True).is_visible():
            break
        time.sleep(0.3)
    expect(laptop.get_by_role("link", name="Ingresar", exact=True)).to_be_visible(timeout=1)
    delivery = LogoutDelivery.objects.get(application__client_id=portal.client_id)
    assert delivery.status == DeliveryStatus.SENT and delivery.reason == "password"


def test_signing_out_of_the_portal_signs_out_of_portero_and_returns_to_the_portal(
    new_context: Any, start_portal: Callable[..., Portal], site: SiteInfo
) -> None:
    portal = start_portal()
    user = new_account(PHONE)
    page = new_context(PHONE).new_page()
    enter_through_portal(page, portal)
    sign_in(page, PHONE, user.username, PASSWORD)
    expect_signed_in_at_portal(page, portal)
    page.get_by_role("button", name="Cerrar sesión").click()
    # No "Sign out?" question: the id_token_hint names this session (RP-Initiated Logout 1.0).
    expect(page).to_have_url(re.compile(rf"^{re.escape(portal.base)}/\?state=[\w-]+$"))
    expect(page.get_by_role("status")).to_have_text("Su sesión se cerró.")
    expect(page.get_by_role("link", name="Ingresar", exact=True)).to_be_visible()
    page.goto(f"{site.base}/cuenta/")
    expect(page).to_have_url(re.compile(r"/ingresar/\?next=/cuenta/$"))


@pytest.mark.profiles("pair")
def test_axe_finds_no_wcag_violation_on_the_federation_pages(
    new_context: Any, profile: Profile, start_portal: Callable[..., Portal], site: SiteInfo
) -> None:
    """The consent page, the error page, Mi cuenta > Aplicaciones, and the portal's pages."""
    portal = start_portal(consent=True)
    user = new_account(profile)
    page = new_context(profile).new_page()
    problems: list[str] = []

    def check(state: str) -> None:
        page.wait_for_load_state("load")
        if violations := axe_violations(page):
            problems.append(describe_violations(f"{profile} {state}", violations))

    enter_through_portal(page, portal)
    sign_in(page, profile, user.username, PASSWORD)
    expect(page.get_by_role("button", name=ALLOW[profile.language], exact=True)).to_be_visible()
    check("consent")
    page.get_by_role("button", name=DENY[profile.language], exact=True).click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(portal.base)}/auth/callback/\?"))
    expect(page.get_by_text("No se autorizó el ingreso a este portal.")).to_be_visible()
    check("portal, access denied by the person")
    page.get_by_role("link", name="Volver al inicio").click()
    page.get_by_role(
        "link", name="Ingresar", exact=True
    ).click()  # still signed in at Portero: consent
    page.get_by_role("button", name=ALLOW[profile.language], exact=True).click()
    expect_signed_in_at_portal(page, portal)
    check("portal, signed in")

    page.goto(f"{site.base}/cuenta/aplicaciones/")
    expect(_heading(page)).to_have_text(APPLICATIONS[profile.language])
    # On a phone each value carries its column's label ("Aplicación: …").
    portal_cell = re.compile(r"^([^:]+: )?" + re.escape(PORTAL_NAME) + "$")
    expect(page.get_by_role("cell", name=portal_cell)).to_be_visible()
    check("applications")

    page.goto(
        f"{site.base}/o/authorize/?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": portal.client_id,
                "scope": "openid",
                "redirect_uri": "https://otro-portal.example/auth/callback/",
                "state": "s",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
            }
        )
    )
    expect(page.locator("code")).to_have_text("invalid_request")  # never sent to that address
    check("federation error")

    page.goto(f"{portal.base}/")
    page.get_by_role("button", name="Cerrar sesión").click()
    expect(page.get_by_role("link", name="Ingresar", exact=True)).to_be_visible()
    check("portal, signed out")

    report = "\n".join(problems)
    assert not problems, report


# --- The back-channel logout endpoint refuses what is not a logout token (section 2.6) -----


def _sign(
    claims: dict[str, Any], key: SigningKey | None, *, kid: str = "", typ: str = "logout+jwt"
) -> str:
    private = key.private if key else jwk.JWK.generate(kty="RSA", size=2048)
    token = jwcrypto_jwt.JWT(
        header={"typ": typ, "alg": "RS256", "kid": kid or (key.kid if key else "unknown")},
        claims=json.dumps(claims),
    )
    token.make_signed_token(private)
    return str(token.serialize())


def test_the_portal_answers_a_logout_token_by_section_2_6_of_back_channel_logout(
    start_portal: Callable[..., Portal], site: SiteInfo
) -> None:
    portal = start_portal()
    requests.get(f"{site.base}/o/jwks/", timeout=10).raise_for_status()  # the key file exists
    key = KeyRing(site.logs[0].parent / "oidc-keys.json").active()
    now = int(time.time())
    good = {
        "iss": site.base,
        "aud": portal.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(8),
        "sub": "alguien",
        "sid": "una-sesion",
        "events": {BACKCHANNEL_EVENT: {}},
    }

    def without(*names: str) -> dict[str, Any]:
        return {k: v for k, v in good.items() if k not in names}

    refused = {
        "not a JWT": "no.es.un-token",
        "signed by another key with Portero's kid": _sign(good, None, kid=key.kid),
        "signed by an unknown key": _sign(good, None),
        "another issuer": _sign({**good, "iss": "https://otro.example"}, key),
        "another audience": _sign({**good, "aud": "otro-portal"}, key),
        "no iat": _sign(without("iat"), key),
        "issued in the future": _sign({**good, "iat": now + 3600}, key),
        "expired": _sign({**good, "exp": now - 600}, key),
        "no events": _sign(without("events"), key),
        "another event": _sign({**good, "events": {"urn:otro": {}}}, key),
        "a nonce (an ID token)": _sign({**good, "nonce": "n"}, key),
        "neither sid nor sub": _sign(without("sid", "sub"), key),
        "typed as an ID token": _sign(good, key, typ="JWT"),
    }
    url = f"{portal.base}/auth/backchannel-logout/"
    answers = {
        case: requests.post(url, data={"logout_token": token}, timeout=10)
        for case, token in refused.items()
    }
    wrong = {case: r.status_code for case, r in answers.items() if r.status_code != 400}
    assert wrong == {}, portal.output()
    assert all(r.headers["Cache-Control"] == "no-store" for r in answers.values())
    assert answers["a nonce (an ID token)"].json()["error"] == "invalid_request"

    accepted = requests.post(url, data={"logout_token": _sign(good, key)}, timeout=10)
    assert accepted.status_code == 200 and accepted.headers["Cache-Control"] == "no-store"
    only_sub = requests.post(url, data={"logout_token": _sign(without("sid"), key)}, timeout=10)
    assert only_sub.status_code == 200
    assert requests.get(url, timeout=10).status_code == 405
