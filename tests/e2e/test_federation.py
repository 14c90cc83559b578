"""Authlib as a portal (the relying party) against real `portero serve` and `portero worker`
processes: discovery, the code flow with PKCE, tokens, and both kinds of logout (SECURITY.md K).

One server and one worker serve the whole module (starting them is most of the cost). Every
test gets fresh accounts and portals in the test database, which the processes share; hence
`django_db(transaction=True)`: what a test writes must be committed for them to see it. The
person's browser is a cookie-keeping HTTP client that fills Portero's forms and stops at the
first redirect to the portal, whose address has no server behind it: the test reads the code
from that Location, as the portal's callback would.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from joserfc import jwt
from joserfc.jwk import KeySet

from portero.federation.models import DeliveryStatus, LogoutDelivery
from portero.mail.models import EmailStatus, OutboundEmail
from portero.recovery.models import RecoveryRequest
from tests.conftest import NEW_PASSWORD, PASSWORD, SMTPSink
from tests.helpers import link_in
from tests.processes import (
    PorteroProcess,
    child_env,
    database_url,
    free_port,
    wait_until_serving,
)

pytestmark = pytest.mark.django_db(transaction=True)

SCOPE = "openid profile email"
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
DELIVERY_SECONDS = 10  # "within a few seconds": the worker polls every 0.2 s here


# --- the provider: `portero keys rotate`, then `portero serve` and `portero worker` ---------


@dataclass
class Provider:
    base: str
    kid: str  # the signing key `portero keys rotate` created
    sink: SMTPSink
    logs: list[Path]

    def url(self, path: str) -> str:
        return self.base + path

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}" for log in self.logs
        )


@pytest.fixture(scope="module")
def provider(
    django_db_setup: None,
    smtp_server: tuple[SMTPSink, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Provider]:
    """Create the signing key as an operator does, then run the server and the worker.

    PORTERO_ENV=demo: the production pages, while the base URL may stay plain http on
    loopback. Retries start after 1 s (instead of 30) so that a back-channel delivery to a
    portal that was down is retried within the test.
    """
    sink, smtp_port = smtp_server
    port, var_dir = free_port(), tmp_path_factory.mktemp("portero-federation")
    base = f"http://127.0.0.1:{port}"
    env = {
        "PORTERO_ENV": "demo",
        "PORTERO_VAR_DIR": str(var_dir),
        "PORTERO_SECRET_KEY": settings.SECRET_KEY,
        "PORTERO_BASE_URL": base,
        "PORTERO_BIND": f"127.0.0.1:{port}",
        "PORTERO_WEB_WORKERS": "2",
        "DATABASE_URL": database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PORTERO_OIDC_KEYS_FILE": str(var_dir / "oidc-keys.json"),
        "PORTERO_WORKER_POLL_SECONDS": "0.2",
        "PORTERO_MAIL_RETRY_BASE_SECONDS": "1",
        "PORTERO_MAIL_RETRY_MAX_SECONDS": "2",
    }
    rotated = subprocess.run(
        [sys.executable, "-m", "portero.cli", "keys", "rotate"],
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    kid = re.search(r"New signing key (\S+) in", rotated.stdout)
    assert kid, rotated.stdout
    server = PorteroProcess(("serve",), env, var_dir / "serve.log").start()
    worker = PorteroProcess(("worker",), env, var_dir / "worker.log").start()
    try:
        assert server.popen is not None
        wait_until_serving(f"{base}/ingresar/", server.popen, server.output)
        yield Provider(base, kid.group(1), sink, [server.log, worker.log])
    finally:
        worker.stop()
        server.stop()


def _worker_idle() -> bool:
    """True when no request, e-mail or logout token is waiting for the worker or in its hands."""
    return not (
        OutboundEmail.objects.filter(status__in=[EmailStatus.QUEUED, EmailStatus.SENDING]).exists()
        or RecoveryRequest.objects.filter(processed_at__isnull=True).exists()
        or LogoutDelivery.objects.filter(
            status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENDING]
        ).exists()
    )


@pytest.fixture(autouse=True)
def _settled(provider: Provider) -> Iterator[None]:
    """Let the worker finish what a test left (the "password changed" notice, say) before the
    tables are emptied under it. The processes' logs are printed, which pytest shows only
    when the test failed."""
    provider.sink.clear()
    yield
    deadline = time.monotonic() + 15
    while not _worker_idle() and time.monotonic() < deadline:
        time.sleep(0.1)
    print(provider.log_tails())


def wait_for(provider: Provider, predicate: Callable[[], Any], *, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds} s\n{provider.log_tails()}")


# --- a portal's back-channel logout endpoint on loopback ----------------------------------


@dataclass
class Receiver:
    """The portal's back-channel logout endpoint: keeps the logout tokens it is sent. It can
    be down (nothing listens on its port) and come back on the same port."""

    port: int = field(default_factory=free_port)
    tokens: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/auth/backchannel-logout"

    def start(self) -> None:
        tokens = self.tokens

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                tokens.append(parse_qs(body)["logout_token"][0])
                self.send_response(200)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver that is down until the test starts it."""
    state = Receiver()
    yield state
    state.stop()


# --- the portal: registered with `portero client add`, speaking through Authlib ------------


@dataclass
class Portal:
    client_id: str
    client_secret: str
    redirect_uri: str
    after_logout_uri: str
    metadata: dict[str, Any]

    def session(self, **kwargs: Any) -> OAuth2Session:
        """Return an Authlib client for this portal (confidential, PKCE S256)."""
        return OAuth2Session(
            self.client_id,
            self.client_secret,
            scope=SCOPE,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
            **kwargs,
        )


def discover(provider: Provider) -> dict[str, Any]:
    response = requests.get(provider.url("/.well-known/openid-configuration"), timeout=10)
    assert response.status_code == 200, response.text[:500]
    return dict(response.json())


@pytest.fixture
def register(provider: Provider) -> Callable[..., Portal]:
    """Register a portal the operator's way; its callback addresses have no server behind
    them (loopback http, which Portero accepts only on loopback, OI2)."""

    def add(*, backchannel: str = "") -> Portal:
        origin = f"http://127.0.0.1:{free_port()}"
        args = [
            "client",
            "add",
            "--name",
            "Portal de contratación",
            "--redirect-uri",
            f"{origin}/auth/callback",
            "--post-logout-redirect-uri",
            f"{origin}/",
        ]
        if backchannel:
            args += ["--backchannel-logout-uri", backchannel]
        out = io.StringIO()
        call_command(*args, stdout=out)
        credentials = json.loads(out.getvalue())
        return Portal(
            credentials["client_id"],
            credentials["client_secret"],
            f"{origin}/auth/callback",
            f"{origin}/",
            discover(provider),
        )

    return add


# --- the person's browser ----------------------------------------------------------------


class Browser:
    """A cookie-keeping HTTP client that fills forms with their CSRF token and never follows
    a redirect by itself (the portal's callback has no server)."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.http = requests.Session()
        self.http.headers["Accept-Language"] = "es-CO"

    def get(self, url: str) -> requests.Response:
        return self.http.get(
            self.provider.url(url) if url.startswith("/") else url,
            allow_redirects=False,
            timeout=30,
        )

    def submit(self, path: str, data: dict[str, str]) -> requests.Response:
        form = self.get(path)
        token = CSRF_INPUT.search(form.text)
        assert form.status_code == 200 and token, f"no form at {path} ({form.status_code})"
        return self.http.post(
            self.provider.url(path),
            data={**data, "csrfmiddlewaretoken": token.group(1)},
            allow_redirects=False,
            timeout=30,
        )

    def session_key(self) -> str:
        return str(next(c.value for c in self.http.cookies if c.name == "portero_session"))


def sign_in_at_portal(
    browser: Browser, authorization_url: str, *, username: str, password: str = PASSWORD
) -> str:
    """Follow the portal's authorization request through the sign-in form; return the
    Location that sends the browser back to the portal."""
    first = browser.get(authorization_url)
    assert first.status_code == 302, first.text[:500]
    sign_in = first.headers["Location"]
    assert sign_in.startswith("/ingresar/"), sign_in
    signed_in = browser.submit(sign_in, {"username": username, "password": password})
    assert signed_in.status_code == 302, signed_in.text[:500]
    assert signed_in.headers["Location"].startswith("/o/authorize/")
    back = browser.get(signed_in.headers["Location"])
    assert back.status_code == 302, back.text[:500]
    return str(back.headers["Location"])


@dataclass
class SignedIn:
    """What the portal holds after a sign-in: Authlib's session, the tokens, the checked
    ID token's claims."""

    rp: OAuth2Session
    token: dict[str, Any]
    claims: dict[str, Any]


def signed_in(provider: Provider, portal: Portal, browser: Browser, username: str) -> SignedIn:
    """Run the code flow with PKCE S256 the way Authlib does it; check the ID token."""
    rp = portal.session()
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    url, state = rp.create_authorization_url(
        portal.metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    location = sign_in_at_portal(browser, url, username=username)
    assert location.startswith(portal.redirect_uri + "?"), location
    back = parse_qs(urlsplit(location).query)
    assert back["state"] == [state]
    assert back["iss"] == [portal.metadata["issuer"]]  # RFC 9207, against mix-up
    token = rp.fetch_token(
        portal.metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    return SignedIn(rp, dict(token), id_token_claims(portal, token, nonce=nonce))


def published_keys(portal: Portal) -> KeySet:
    return KeySet.import_key_set(requests.get(portal.metadata["jwks_uri"], timeout=10).json())


def id_token_claims(portal: Portal, token: dict[str, Any], *, nonce: str) -> dict[str, Any]:
    """Check the ID token as a portal must (OIDC Core 3.1.3.7): signature against the JWKS
    fetched from the provider, iss, aud, exp, iat, nonce, at_hash; return its claims."""
    decoded = jwt.decode(token["id_token"], published_keys(portal), algorithms=["RS256"])
    issuer = portal.metadata["issuer"]
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": portal.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "nonce": {"essential": True},
        },
        {"nonce": nonce, "client_id": portal.client_id, "access_token": token["access_token"]},
    )
    claims.validate(leeway=5)
    # The same checks, spelled out.
    assert claims["iss"] == issuer and claims["aud"] in (portal.client_id, [portal.client_id])
    assert claims["nonce"] == nonce
    assert claims["iat"] <= time.time() + 5 < claims["exp"]
    return dict(claims)


def logout_token_claims(portal: Portal, token: str) -> dict[str, Any]:
    """Check a logout token as a portal must (Back-Channel Logout 2.6); return its claims."""
    decoded = jwt.decode(token, published_keys(portal), algorithms=["RS256"])
    assert decoded.header["typ"] == "logout+jwt"
    jwt.JWTClaimsRegistry(
        leeway=5,
        iss={"essential": True, "value": portal.metadata["issuer"]},
        aud={"essential": True, "value": portal.client_id},
        iat={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
        sid={"essential": True},
        events={"essential": True},
    ).validate(decoded.claims)
    claims = dict(decoded.claims)
    assert claims["events"] == {BACKCHANNEL_EVENT: {}}
    assert "nonce" not in claims  # a logout token must never be taken for an ID token
    return claims


def refused(call: Callable[[], Any]) -> str:
    """Return the OAuth error a token request got (it must get one)."""
    with pytest.raises(OAuthError) as error:
        call()
    return str(error.value.error)


# --- the tests ----------------------------------------------------------------------------


def test_oi1_oi4_discovery_describes_a_code_flow_provider_with_pkce_s256_only(provider):
    metadata = discover(provider)
    OpenIDProviderMetadata(metadata).validate()  # Authlib's check of the required fields
    assert metadata["issuer"] == provider.base  # exactly PORTERO_BASE_URL (OI4)
    for endpoint in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "revocation_endpoint",
    ):
        assert metadata[endpoint].startswith(provider.base + "/"), endpoint
    assert metadata["response_types_supported"] == ["code"]  # no implicit or hybrid (OI1)
    assert metadata["code_challenge_methods_supported"] == ["S256"]  # no plain (OI1)
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]  # never none
    assert set(metadata["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True
    keys = requests.get(metadata["jwks_uri"], timeout=10).json()["keys"]
    assert [key["kid"] for key in keys] == [provider.kid]  # the operator's key, public part
    assert all("d" not in key for key in keys)


def test_oi8_portals_may_cache_the_jwks_for_as_long_as_the_provider_says(provider):
    """The key set says how long a portal may keep it (OI8: the JWKS view sets 5 minutes), so
    that portals need not fetch it for every token they check."""
    response = requests.get(discover(provider)["jwks_uri"], timeout=10)
    assert response.status_code == 200
    cache = response.headers["Cache-Control"]
    assert "no-store" not in cache and "max-age=" in cache, cache


def test_oi1_oi4_code_flow_with_pkce_gives_a_checked_id_token_and_userinfo(
    provider, register, user
):
    portal = register()
    session = signed_in(provider, portal, Browser(provider), user.username)

    claims = session.claims
    assert session.token["token_type"].lower() == "bearer"
    assert session.token["refresh_token"]
    for name in ("auth_time", "sid", "amr", "acr", "sub"):
        assert claims[name], name
    assert claims["amr"] == ["pwd"]
    assert abs(claims["auth_time"] - time.time()) < 60
    # sub: opaque, never the username, the e-mail address or the database id (OI4)
    assert claims["sub"] not in {user.username, user.email, str(user.pk)}
    assert user.username not in claims["sub"]

    decoded = jwt.decode(session.token["id_token"], published_keys(portal), algorithms=["RS256"])
    assert decoded.header["kid"] == provider.kid

    info = session.rp.get(portal.metadata["userinfo_endpoint"], timeout=10)
    assert info.status_code == 200, info.text
    assert info.json() == {
        "sub": claims["sub"],
        "preferred_username": user.username,
        "name": "Gabriela Góngora",
        "locale": "es-CO",
        "email": user.email,
        "email_verified": user.email_verified,
    }


def test_oi1_the_provider_refuses_a_token_request_without_the_pkce_verifier(
    provider, register, user
):
    portal = register()
    rp = portal.session()
    url, _ = rp.create_authorization_url(
        portal.metadata["authorization_endpoint"],
        code_verifier=secrets.token_urlsafe(48),
        nonce=secrets.token_urlsafe(16),
    )
    location = sign_in_at_portal(Browser(provider), url, username=user.username)
    assert (
        refused(
            lambda: rp.fetch_token(
                portal.metadata["token_endpoint"], authorization_response=location
            )
        )
        == "invalid_request"
    )


def test_rfc9700_refresh_rotates_and_the_old_refresh_token_is_refused(provider, register, user):
    portal = register()
    session = signed_in(provider, portal, Browser(provider), user.username)
    first = session.token["refresh_token"]

    renewed = session.rp.refresh_token(portal.metadata["token_endpoint"], refresh_token=first)
    assert renewed["refresh_token"] != first  # rotated
    assert renewed["access_token"] != session.token["access_token"]
    info = session.rp.get(portal.metadata["userinfo_endpoint"], timeout=10)
    assert info.status_code == 200 and info.json()["sub"] == session.claims["sub"]

    replay = portal.session()
    assert (
        refused(
            lambda: replay.refresh_token(portal.metadata["token_endpoint"], refresh_token=first)
        )
        == "invalid_grant"
    )
    # RFC 9700 4.14.2: a replayed refresh token takes its whole family down, the renewed one too
    assert (
        refused(
            lambda: replay.refresh_token(
                portal.metadata["token_endpoint"], refresh_token=renewed["refresh_token"]
            )
        )
        == "invalid_grant"
    )


def test_rfc7009_revoked_tokens_stop_working(provider, register, user):
    """The portal gives its tokens back at the revocation endpoint named by discovery."""
    portal = register()
    session = signed_in(provider, portal, Browser(provider), user.username)
    endpoint, userinfo = (
        portal.metadata["revocation_endpoint"],
        portal.metadata["userinfo_endpoint"],
    )

    revoked = session.rp.revoke_token(
        endpoint, token=session.token["access_token"], token_type_hint="access_token"
    )
    assert revoked.status_code == 200, revoked.text
    assert session.rp.get(userinfo, timeout=10).status_code == 401

    revoked = session.rp.revoke_token(
        endpoint, token=session.token["refresh_token"], token_type_hint="refresh_token"
    )
    assert revoked.status_code == 200, revoked.text
    assert (
        refused(
            lambda: portal.session().refresh_token(
                portal.metadata["token_endpoint"], refresh_token=session.token["refresh_token"]
            )
        )
        == "invalid_grant"
    )


def test_oi2_oi6_rp_initiated_logout_returns_with_the_state_and_ends_the_portero_session(
    provider, register, user
):
    portal = register()
    browser = Browser(provider)
    session = signed_in(provider, portal, browser, user.username)
    session_key = browser.session_key()
    assert Session.objects.filter(session_key=session_key).exists()

    state = secrets.token_urlsafe(12)
    logout = browser.get(
        portal.metadata["end_session_endpoint"]
        + "?"
        + urlencode(
            {
                "id_token_hint": session.token["id_token"],
                "client_id": portal.client_id,
                "post_logout_redirect_uri": portal.after_logout_uri,
                "state": state,
            }
        )
    )
    assert logout.status_code == 302, logout.text[:500]
    back = urlsplit(logout.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == portal.after_logout_uri
    assert parse_qs(back.query)["state"] == [state]

    assert not Session.objects.filter(session_key=session_key).exists()
    account = browser.get("/cuenta/")
    assert account.status_code == 302 and account.headers["Location"].startswith("/ingresar/")
    # That session's tokens die with it (OI6).
    assert (
        refused(
            lambda: portal.session().refresh_token(
                portal.metadata["token_endpoint"], refresh_token=session.token["refresh_token"]
            )
        )
        == "invalid_grant"
    )
    assert session.rp.get(portal.metadata["userinfo_endpoint"], timeout=10).status_code == 401


def test_oi2_logout_to_an_unregistered_address_is_never_redirected(provider, register, user):
    portal = register()
    browser = Browser(provider)
    session = signed_in(provider, portal, browser, user.username)
    logout = browser.get(
        portal.metadata["end_session_endpoint"]
        + "?"
        + urlencode(
            {
                "id_token_hint": session.token["id_token"],
                "post_logout_redirect_uri": "https://evil.example/",
                "state": "x",
            }
        )
    )
    assert logout.status_code == 400 and "Location" not in logout.headers
    assert browser.get("/cuenta/").status_code == 200  # still signed in


def test_oi6_a_password_reset_delivers_a_logout_token_to_the_portal(
    provider, register, user, receiver
):
    receiver.start()
    portal = register(backchannel=receiver.uri)
    session = signed_in(provider, portal, Browser(provider), user.username)

    phone = Browser(provider)  # the e-mail is read and the reset done on another device
    asked = phone.submit("/recuperar/contrasena/", {"username": user.username})
    assert asked.status_code == 302
    message = wait_for(
        provider,
        lambda: [m for m in provider.sink.messages if user.email in str(m["To"])],
        seconds=DELIVERY_SECONDS,
        what="the recovery e-mail",
    )[0]
    opened = phone.get(link_in(message))
    assert opened.status_code == 302 and opened.headers["Location"] == "/restablecer/"
    done = phone.submit(
        "/restablecer/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/restablecer/listo/")
    ended_at = time.monotonic()

    tokens = wait_for(
        provider, lambda: receiver.tokens, seconds=DELIVERY_SECONDS, what="the logout token"
    )
    took = time.monotonic() - ended_at
    assert len(tokens) == 1 and took < DELIVERY_SECONDS
    claims = logout_token_claims(portal, tokens[0])
    assert claims["sid"] == session.claims["sid"]
    assert claims["sub"] == session.claims["sub"]
    # ...and the session's refresh token was revoked at once, with the reset.
    assert (
        refused(
            lambda: portal.session().refresh_token(
                portal.metadata["token_endpoint"], refresh_token=session.token["refresh_token"]
            )
        )
        == "invalid_grant"
    )


def test_oi6_a_logout_token_for_a_portal_that_is_down_is_retried_until_it_is_back(
    provider, register, user, receiver
):
    portal = register(backchannel=receiver.uri)  # nothing listens there yet
    browser = Browser(provider)
    session = signed_in(provider, portal, browser, user.username)

    account = browser.get("/cuenta/")
    token = CSRF_INPUT.search(account.text)
    assert token, "no sign-out form on the account page"
    out = browser.http.post(
        provider.url("/salir/"),
        data={"csrfmiddlewaretoken": token.group(1)},
        allow_redirects=False,
        timeout=30,
    )
    assert out.status_code == 302

    retrying = wait_for(
        provider,
        lambda: LogoutDelivery.objects.filter(status=DeliveryStatus.RETRYING).first(),
        seconds=DELIVERY_SECONDS,
        what="a delivery marked for retry",
    )
    assert retrying.application.client_id == portal.client_id
    assert retrying.sid == session.claims["sid"] and retrying.uri == receiver.uri
    assert "refused" in retrying.last_error.lower(), retrying.last_error
    assert retrying.next_attempt_at > retrying.created_at
    assert receiver.tokens == []

    receiver.start()  # the portal is back, on the same address
    tokens = wait_for(
        provider,
        lambda: receiver.tokens,
        seconds=DELIVERY_SECONDS,
        what="the logout token once the portal is back",
    )
    assert len(tokens) == 1
    claims = logout_token_claims(portal, tokens[0])
    assert claims["sid"] == session.claims["sid"]
    delivered = wait_for(
        provider,
        lambda: LogoutDelivery.objects.filter(pk=retrying.pk, status=DeliveryStatus.SENT).first(),
        seconds=DELIVERY_SECONDS,
        what="the delivery recorded as sent",
    )
    assert delivered.attempts >= 2 and delivered.last_error == "" and delivered.sent_at


def test_oi3_a_code_works_once_and_its_replay_revokes_what_it_gave(provider, register, user):
    portal = register()
    rp = portal.session()
    verifier = secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(
        portal.metadata["authorization_endpoint"],
        code_verifier=verifier,
        nonce=secrets.token_urlsafe(16),
    )
    location = sign_in_at_portal(Browser(provider), url, username=user.username)
    token = rp.fetch_token(
        portal.metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    userinfo = portal.metadata["userinfo_endpoint"]
    assert rp.get(userinfo, timeout=10).status_code == 200

    replay = portal.session(state=state)
    assert (
        refused(
            lambda: replay.fetch_token(
                portal.metadata["token_endpoint"],
                authorization_response=location,
                code_verifier=verifier,
            )
        )
        == "invalid_grant"
    )
    assert rp.get(userinfo, timeout=10).status_code == 401
    assert (
        refused(
            lambda: portal.session().refresh_token(
                portal.metadata["token_endpoint"], refresh_token=token["refresh_token"]
            )
        )
        == "invalid_grant"
    )


def test_oi5_a_wrong_secret_and_an_unknown_client_get_the_same_answer(provider, register):
    portal = register()
    form = {
        "grant_type": "authorization_code",
        "code": secrets.token_urlsafe(22),
        "redirect_uri": portal.redirect_uri,
        "code_verifier": secrets.token_urlsafe(48),
    }
    answers = [
        requests.post(portal.metadata["token_endpoint"], data=form, auth=auth, timeout=10)
        for auth in (
            (portal.client_id, secrets.token_urlsafe(96)),
            (secrets.token_urlsafe(30), portal.client_secret),
        )
    ]
    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].json() == answers[1].json() == {"error": "invalid_client"}


def test_error_redirects_name_the_issuer_too(provider, register):
    """RFC 9207 section 2 (RFC 9700 4.4, a source of SECURITY.md K): "including error
    responses". A portal that enforces it rejects a silent sign-in's login_required."""
    portal = register()
    url, state = portal.session().create_authorization_url(
        portal.metadata["authorization_endpoint"],
        code_verifier=secrets.token_urlsafe(48),
        nonce=secrets.token_urlsafe(16),
        prompt="none",
    )
    back = Browser(provider).get(url)  # not signed in
    assert back.status_code == 302 and back.headers["Location"].startswith(portal.redirect_uri)
    query = parse_qs(urlsplit(back.headers["Location"]).query)
    assert query["error"] == ["login_required"] and query["state"] == [state]
    assert query.get("iss") == [portal.metadata["issuer"]]
