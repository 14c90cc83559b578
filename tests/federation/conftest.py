"""A portal registered with Portero, and the steps of the code flow with PKCE, in process."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from joserfc import jwt
from joserfc.jwk import KeySet

from portero.accounts.models import User
from portero.federation.clients import client_add
from tests.conftest import PASSWORD
from tests.processes import free_port

REDIRECT = "https://portal.example/auth/callback"
BACKCHANNEL = "https://portal.example/auth/backchannel-logout"
AFTER_LOGOUT = "https://portal.example/"


@dataclass
class Portal:
    """A registered client and what it remembers between the steps of a sign-in."""

    client_id: str
    client_secret: str | None
    redirect_uri: str = REDIRECT
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def authorize_params(self, **extra: str) -> dict[str, str]:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid profile email",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }
        return {**params, **extra}

    def token_form(self, code: str, **extra: str) -> dict[str, str]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier,
            "client_id": self.client_id,
        }
        if self.client_secret:
            form["client_secret"] = self.client_secret
        return {**form, **extra}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(
    client: Client, username: str = "gongoragabriela", password: str = PASSWORD, **extra: str
) -> Any:
    return client.post("/ingresar/", {"username": username, "password": password, **extra})


def get_code(client: Client, portal: Portal, **extra: str) -> str:
    """Run the authorization request of a signed-in browser; return the code."""
    response = client.get("/o/authorize/", portal.authorize_params(**extra))
    assert response.status_code == 302, response.content[:500]
    assert response["Location"].startswith(portal.redirect_uri), response["Location"]
    query = query_of(response["Location"])
    assert query["state"] == portal.state
    return query["code"]


def redeem(portal: Portal, code: str, **extra: str) -> Any:
    return Client().post("/o/token/", portal.token_form(code, **extra))


def verify_id_token(id_token: str, portal: Portal) -> dict[str, Any]:
    """Check the signature against the published JWKS, as a portal does; return the claims."""
    keys = KeySet.import_key_set(Client().get("/o/jwks/").json())
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": "https://cuentas.portero.test"},
        aud={"essential": True, "value": portal.client_id},
        exp={"essential": True},
    ).validate(token.claims)
    return dict(token.claims)


@pytest.fixture
def portal(db: None) -> Portal:
    credentials = client_add(
        name="Portal de contratación",
        redirect_uris=[REDIRECT],
        post_logout_redirect_uris=[AFTER_LOGOUT],
        backchannel_logout_uri=BACKCHANNEL,
    )
    return Portal(credentials.client_id, credentials.client_secret)


@pytest.fixture
def browser(user: User, client: Client) -> Client:
    """A browser signed in as `user`."""
    assert sign_in(client).status_code == 302
    return client


@dataclass
class Receiver:
    """A portal's back-channel logout endpoint on loopback: keeps what it gets."""

    port: int
    tokens: list[str] = field(default_factory=list)
    status: int = 200

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/auth/backchannel-logout"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            if state.status == 200:
                state.tokens.append(parse_qs(body)["logout_token"][0])
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def local_portal(db: None, receiver: Receiver) -> Portal:
    """A portal whose back-channel logout endpoint really listens (on loopback)."""
    credentials = client_add(
        name="Portal de contratación",
        redirect_uris=[REDIRECT],
        post_logout_redirect_uris=[AFTER_LOGOUT],
        backchannel_logout_uri=receiver.uri,
    )
    return Portal(credentials.client_id, credentials.client_secret)


@pytest.fixture(autouse=True)
def _own_keys(tmp_path: Any, settings: Any) -> None:
    """Each test starts with one signing key of its own."""
    settings.PORTERO_OIDC_KEYS_FILE = tmp_path / "oidc-keys.json"
