"""The portal's session engine (SESSION_ENGINE): Django's database sessions, kept in
`PortalSession` with the signed-in person's `sid` and `sub` alongside."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DBStore

from portero.demo.portal.models import PortalSession

# What the portal keeps in a signed-in session.
CLAIMS = "oidc_claims"  # the ID token's claims: sub, sid, name, preferred_username, email...
ID_TOKEN = "oidc_id_token"  # the ID token itself, sent back as id_token_hint at sign-out  # noqa: S105


class SessionStore(DBStore):
    @classmethod
    def get_model_class(cls) -> type[PortalSession]:
        return PortalSession

    def create_model_instance(self, data: dict[str, Any]) -> PortalSession:
        session = super().create_model_instance(data)
        assert isinstance(session, PortalSession)
        claims = data.get(CLAIMS) or {}
        session.sid = str(claims.get("sid", ""))
        session.sub = str(claims.get("sub", ""))
        return session


def sessions_end(*, sid: str, sub: str) -> int:
    """End the sessions of one Portero session (`sid`), or, without it, all of one person's
    (`sub`); return how many. Their next page load finds no session: signed out."""
    if not sid and not sub:
        return 0  # never "every session without a sid": those are the signed-out ones
    ended = PortalSession.objects.filter(sid=sid) if sid else PortalSession.objects.filter(sub=sub)
    count, _ = ended.delete()
    return count
