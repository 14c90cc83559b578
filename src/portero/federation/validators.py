"""django-oauth-toolkit configured for Portero (OI1-OI5): claims, keys, sessions, codes.

Extended through its documented seam, the `OAuth2Validator` subclass; what it lacks is here:
an opaque `sub`, `sid`/`amr`/`acr`/`auth_time` from the Portero session, signing with the
rotating key ring, and revoking what a replayed code produced.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from jwcrypto import jws
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from portero.accounts.selectors import session_is_live
from portero.federation import tokens
from portero.federation.claims import SUPPORTED_CLAIMS, claims_of, code_hash
from portero.federation.keys import ALGORITHM, keyring
from portero.federation.models import Authorization
from portero.organizations.claims import CLAIM, SCOPE, organization_claim


class PorteroValidator(OAuth2Validator):
    # --- claims (OI4) ---------------------------------------------------------------------
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, CLAIM: SCOPE}

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        claims = claims_of(request.user)
        organization = organization_claim(self._session_sid(request))
        if organization is not None:  # the organization the session acts for (OR3)
            claims[CLAIM] = organization
        return claims

    def _session_sid(self, request: Any) -> str:
        """Return the sid of the Portero session behind this token request or, at userinfo,
        behind the access token (through its refresh token's family)."""
        authorization = self._authorization(request)
        if authorization is None:
            refresh = getattr(getattr(request, "access_token", None), "refresh_token", None)
            family = getattr(refresh, "token_family", None)
            authorization = (
                Authorization.objects.filter(token_family=family).first() if family else None
            )
        return authorization.sid if authorization is not None else ""

    def get_discovery_claims(self, request: Any) -> list[str]:
        return list(SUPPORTED_CLAIMS)

    def get_id_token_dictionary(
        self, token: Any, token_handler: Any, request: Any
    ) -> tuple[dict[str, Any], Any]:
        claims, expires = super().get_id_token_dictionary(token, token_handler, request)
        authorization = self._authorization(request)
        if authorization is None:  # cannot happen for a code or refresh grant; refuse anyway
            raise errors.InvalidGrantError(request=request)
        claims.update(
            auth_time=int(authorization.auth_time.timestamp()),
            sid=authorization.sid,
            amr=authorization.amr,
            acr=authorization.acr,
        )
        return claims, expires

    def finalize_id_token(
        self, id_token: dict[str, Any], token: Any, token_handler: Any, request: Any
    ) -> str:
        """Sign with the key ring's active key (the library signs with one fixed key)."""
        claims, expires = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce  # oauthlib #746
        signed = tokens.sign(id_token)
        saved = self._save_id_token(id_token["jti"], request, expires)  # one INSERT
        request.access_token = request.id_token = saved
        return signed

    def _create_access_token(
        self, expires: Any, request: Any, token: dict[str, Any], source_refresh_token: Any = None
    ) -> AccessToken:
        """As the library does, but with the ID token just saved rather than decoding and
        verifying the JWT it just signed and reading it back."""
        id_token = getattr(request, "id_token", None) if token.get("id_token") else None
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=id_token if isinstance(id_token, IDToken) else None,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=getattr(request, "resource", []),
        )
        self._set_token_value(access_token, token["access_token"])
        access_token.save()
        return access_token

    def _get_key_for_token(self, token: str) -> Any:
        """Return the published key a token names, for id_token_hint at logout (never `none`)."""
        unverified = jws.JWS()
        unverified.deserialize(token)
        header = unverified.jose_header
        if isinstance(header, list) or header.get("alg") != ALGORITHM:
            return None
        key = keyring().find(str(header.get("kid", "")))
        return key.private if key else None

    # --- grants: the code flow and refresh only (OI1) ---------------------------------------
    def validate_user(self, *args: Any, **kwargs: Any) -> bool:
        """Never check a password here: the password grant would be a password oracle outside
        the sign-in page's throttling (LI2, LI3) and audit. TokenView refuses the grant first;
        this is the second lock."""
        return False

    # --- silent sign-in (prompt=none): the view has already checked session and consent ---
    def validate_silent_login(self, request: Any) -> bool:
        return True

    def validate_silent_authorization(self, request: Any) -> bool:
        return True

    # --- codes and the session they came from (OI3, OI6) ----------------------------------
    def save_authorization_code(
        self, client_id: str, code: dict[str, str], request: Any, *args: Any, **kwargs: Any
    ) -> None:
        super().save_authorization_code(client_id, code, request, *args, **kwargs)
        Authorization.objects.create(
            code_hash=code_hash(code["code"]),
            application=request.client,
            user=request.user,
            sid=request.portero_sid,
            auth_time=request.portero_auth_time,
            amr=request.portero_amr,
            acr=request.portero_acr,
            scope=" ".join(sorted(set(request.scopes))),
        )

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        authorization = (
            Authorization.objects.filter(code_hash=code_hash(code))
            .select_related("user__oidc_subject", "application")
            .first()
        )
        if authorization is not None and authorization.used_at is not None:
            tokens.code_replayed(authorization)  # OI3: what the first use produced dies
            return False
        grant = self._grant(code, request, client)
        if (
            authorization is None
            or authorization.application_id != client.pk
            or authorization.session_ended_at is not None
            or not authorization.user.is_active
            or grant is None
            or grant.is_expired()
        ):
            return False
        request.scopes, request.user = grant.scope.split(" "), authorization.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        request.portero_authorization = authorization
        return True

    # The library reads the code's row once per question (redirect URI, challenge, method,
    # scopes, nonce): five identical queries per token request. One, kept on the request.
    @staticmethod
    def _grant(code: str, request: Any, client: Any = None) -> Grant | None:
        cached = getattr(request, "portero_grant", None)
        if cached is None or cached.code != code:
            cached = Grant.objects.filter(code=code).first()
            request.portero_grant = cached
        if cached is None or (client is not None and cached.application_id != client.pk):
            return None
        return cached

    def confirm_redirect_uri(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        client: Any,
        request: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        grant = self._grant(code, request, client)
        return grant is not None and grant.redirect_uri_allowed(redirect_uri)

    def get_code_challenge(self, code: str, request: Any) -> str | None:
        grant = self._grant(code, request, request.client)
        return (grant.code_challenge or None) if grant else None

    def get_code_challenge_method(self, code: str, request: Any) -> str | None:
        grant = self._grant(code, request, request.client)
        return (grant.code_challenge_method or None) if grant else None

    def get_authorization_code_scopes(
        self, client_id: str, code: str, redirect_uri: str, request: Any
    ) -> list[str]:
        grant = self._grant(code, request)
        return grant.scope.split() if grant else []

    def get_authorization_code_nonce(
        self, client_id: str, code: str, redirect_uri: str, request: Any
    ) -> str | None:
        grant = self._grant(code, request)
        return (grant.nonce or None) if grant else None

    def _create_refresh_token(
        self, request: Any, refresh_token_code: str, access_token: Any, previous_refresh_token: Any
    ) -> Any:
        refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous_refresh_token
        )
        request.portero_token_family = refresh_token.token_family
        return refresh_token

    def save_bearer_token(
        self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any
    ) -> None:
        with transaction.atomic():
            super().save_bearer_token(token, request, *args, **kwargs)
            if request.grant_type == "authorization_code":
                tokens.code_redeemed(
                    request.portero_authorization,
                    client=request.client,
                    family=request.portero_token_family,
                    scopes=token.get("scope", ""),
                )

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        instance: RefreshToken = request.refresh_token_instance
        authorization = (
            Authorization.objects.filter(
                token_family=instance.token_family,
                session_ended_at__isnull=True,
                user__is_active=True,
            )
            .select_related("user__oidc_subject")
            .first()
        )
        request.portero_authorization = authorization
        # Only while the Portero session behind it lives (SE2, OI6): the library checks no
        # expiry at use, and a session can lapse (idle) before the worker's purge ends it.
        return authorization is not None and session_is_live(
            authorization.sid, signed_in_at=authorization.auth_time
        )

    @staticmethod
    def _authorization(request: Any) -> Authorization | None:
        return getattr(request, "portero_authorization", None)
