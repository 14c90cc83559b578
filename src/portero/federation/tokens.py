"""Signing tokens with the key ring, and the life of what a code produced (OI3, OI4, OI7)."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from jwcrypto import jwt
from oauth2_provider.models import Application, RefreshToken
from oauthlib.oauth2.rfc6749 import errors

from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock
from portero.federation.keys import ALGORITHM, keyring
from portero.federation.models import Authorization


def sign(claims: dict[str, Any], *, typ: str = "JWT") -> str:
    """Return `claims` as a JWT signed with the active key, naming it by `kid`."""
    key = keyring().active()
    token = jwt.JWT(
        header={"typ": typ, "alg": ALGORITHM, "kid": key.kid},
        claims=json.dumps(claims, default=str),
    )
    token.make_signed_token(key.private)
    return str(token.serialize())


def family_revoke(family: Any) -> None:
    """Revoke every refresh token of a family and the access tokens it produced.

    The ID tokens' rows stay until they expire: an ID token opens nothing here (userinfo takes
    access tokens only), and a portal still names its session with one at RP-initiated logout
    after the Portero session has ended.
    """
    if family is not None:
        RefreshToken.revoke_family(family)


def code_redeemed(
    authorization: Authorization, *, client: Application, family: Any, scopes: str
) -> None:
    """Mark the code used, once; a concurrent second use, or a session that ended meanwhile,
    loses and revokes its own tokens. Called in the transaction that saved the tokens."""
    won = Authorization.objects.filter(
        pk=authorization.pk, used_at__isnull=True, session_ended_at__isnull=True
    ).update(used_at=clock.now(), token_family=family)
    if not won:
        family_revoke(family)
        raise errors.InvalidGrantError()
    event_record(
        EventType.TOKEN_ISSUED,
        user=authorization.user,
        actor=f"client:{client.pk}",
        subject=f"user:{authorization.user_id}",
        client_name=client.name,
        client_id=client.client_id,
        scopes=scopes,
    )


@transaction.atomic
def code_replayed(authorization: Authorization) -> None:
    """A used code came back: revoke every token it produced and record it (OI3)."""
    family_revoke(authorization.token_family)
    client = authorization.application
    event_record(
        EventType.CODE_REPLAYED,
        outcome="refused",
        user=authorization.user,
        actor=f"client:{client.pk}",
        subject=f"user:{authorization.user_id}",
        client_name=client.name,
        client_id=client.client_id,
    )
