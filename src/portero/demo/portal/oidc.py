"""The portal's OpenID Connect client: Authlib, configured from Portero's discovery document.

Authlib runs the sign-in (code flow, PKCE S256, nonce, state) and checks the ID token
(signature against the JWKS, iss, aud, exp, iat, nonce). It has no back-channel logout, so the
logout token is checked here, by OpenID Connect Back-Channel Logout 1.0, section 2.6. Its
`jti` is not remembered (step 6 is optional): a replayed token can only end sessions that the
first one ended already.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authlib.integrations.django_client import OAuth
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

# The portal's own settings module, the one Django loaded (mypy's Django plugin knows only
# Portero's settings, so `django.conf.settings` would not type-check here).
from portero.demo.portal import settings

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"  # noqa: S105  (the JWT "typ" of a logout token)
CLOCK_LEEWAY_SECONDS = 120  # as Authlib allows for ID tokens: the two clocks may differ a little
HTTP_TIMEOUT_SECONDS = 10  # a portal page must not hang on a provider that does not answer

oauth = OAuth()
portero: Any = oauth.register(
    "portero",
    client_id=settings.PORTAL_CLIENT_ID,
    client_secret=settings.PORTAL_CLIENT_SECRET,
    server_metadata_url=f"{settings.PORTAL_ISSUER}/.well-known/openid-configuration",
    client_kwargs={
        "scope": "openid profile email",
        "code_challenge_method": "S256",
        "default_timeout": HTTP_TIMEOUT_SECONDS,
    },
)


def response_from_issuer(query: Mapping[str, str]) -> bool:
    """Return False if the authorization response comes from another issuer (RFC 9207, against
    mix-up attacks): it names another, or names none although the provider says it always does.

    Only a code is held to the second rule: an error gives the portal nothing to misuse, and
    providers that send `iss` on codes do not always send it on errors.
    """
    issuer = query.get("iss")
    if issuer is not None:
        return issuer == settings.PORTAL_ISSUER
    metadata = portero.load_server_metadata()
    return "code" not in query or not metadata.get("authorization_response_iss_parameter_supported")


class InvalidLogoutToken(Exception):
    """A logout token that must be refused (answered with 400); says why."""


def logout_token_claims(token: str) -> dict[str, Any]:
    """Return the claims of a valid logout token, or raise InvalidLogoutToken."""
    metadata = portero.load_server_metadata()
    try:
        decoded = _verified(
            token,
            JWSRegistry(
                algorithms=metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
            ),
        )
        jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": settings.PORTAL_CLIENT_ID},
            iat={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as error:
        raise InvalidLogoutToken(f"{type(error).__name__}: {error}") from error
    _check_logout_claims(decoded.header, decoded.claims)
    return decoded.claims


def _verified(token: str, registry: JWSRegistry) -> jwt.Token:
    """Check the signature against Portero's JWKS, read again once for an unknown key (one
    Portero started signing with after the portal last read it: `portero keys rotate`)."""
    try:
        return jwt.decode(token, KeySet.import_key_set(portero.fetch_jwk_set()), registry=registry)
    except InvalidKeyIdError:
        return jwt.decode(
            token, KeySet.import_key_set(portero.fetch_jwk_set(force=True)), registry=registry
        )


def _check_logout_claims(header: dict[str, Any], claims: dict[str, Any]) -> None:
    """What makes a logout token more than a signed JWT (section 2.4 and 2.6, steps 3 to 5)."""
    if header.get("typ", LOGOUT_TOKEN_TYPE) != LOGOUT_TOKEN_TYPE:
        raise InvalidLogoutToken(f"typ is {header.get('typ')!r}, not {LOGOUT_TOKEN_TYPE!r}")
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_EVENT not in events:
        raise InvalidLogoutToken("the events claim does not name a back-channel logout")
    if "nonce" in claims:  # an ID token sent as a logout token
        raise InvalidLogoutToken("a logout token has no nonce")
    if not isinstance(claims.get("sid", ""), str) or not isinstance(claims.get("sub", ""), str):
        raise InvalidLogoutToken("sid and sub must be strings")
    if not claims.get("sid") and not claims.get("sub"):
        raise InvalidLogoutToken("a logout token names a sid, a sub or both")
