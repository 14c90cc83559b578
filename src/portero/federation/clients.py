"""Registering portals (clients): what `portero client ...` does (OI2, OI5)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import transaction
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import Application

from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.federation.keys import ALGORITHM
from portero.federation.models import ClientProfile

LOOPBACK_NAMES = {"localhost"}


class ClientError(Exception):
    """A client registration that cannot be accepted; says why."""


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str | None  # shown once; only its hash is stored (OI5)

    def as_dict(self) -> dict[str, str]:
        data = {"client_id": self.client_id}
        if self.client_secret is not None:
            data["client_secret"] = self.client_secret
        return data


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() in LOOPBACK_NAMES


def uri_check(uri: str, *, what: str) -> str:
    """Return `uri` if it may be registered: absolute, no fragment, https outside loopback."""
    parts = urlsplit(uri)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ClientError(f"{what} must be an absolute http(s) URL: {uri!r}")
    if parts.fragment:
        raise ClientError(f"{what} must not have a fragment: {uri!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ClientError(f"{what} must use https outside loopback (OI2): {uri!r}")
    if any(ch.isspace() for ch in uri):
        raise ClientError(f"{what} must not contain spaces: {uri!r}")
    return uri


@transaction.atomic
def client_add(
    *,
    name: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
    backchannel_logout_uri: str = "",
    public: bool = False,
    consent: bool = False,
) -> Credentials:
    """Register a portal; return its credentials (the secret, for a confidential one, once)."""
    if not name.strip():
        raise ClientError("a client needs a --name, shown to people on the consent page")
    if not redirect_uris:
        raise ClientError("a client needs at least one --redirect-uri")
    redirects = [uri_check(u, what="--redirect-uri") for u in redirect_uris]
    post_logout = [
        uri_check(u, what="--post-logout-redirect-uri") for u in post_logout_redirect_uris
    ]
    backchannel = (
        uri_check(backchannel_logout_uri, what="--backchannel-logout-uri")
        if backchannel_logout_uri
        else ""
    )
    secret = None if public else generate_client_secret()
    application = Application.objects.create(
        name=name.strip(),
        redirect_uris=" ".join(redirects),
        post_logout_redirect_uris=" ".join(post_logout),
        client_type=Application.CLIENT_PUBLIC if public else Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        client_secret=secret or "",
        hash_client_secret=True,
        algorithm=ALGORITHM,
        skip_authorization=not consent,
    )
    ClientProfile.objects.create(
        application=application, backchannel_logout_uri=backchannel, consent_required=consent
    )
    event_record(
        EventType.CLIENT_ADDED,
        subject=f"client:{application.pk}",
        client_name=application.name,
        public=public,
        consent=consent,
    )
    return Credentials(application.client_id, secret)


def client_get(client_id: str) -> Application:
    application = Application.objects.filter(client_id=client_id).first()
    if application is None:
        raise ClientError(f"no client with id {client_id!r}")
    return application


@transaction.atomic
def client_remove(*, client_id: str) -> None:
    """Remove a portal and every code and token it holds."""
    application = client_get(client_id)
    event_record(
        EventType.CLIENT_REMOVED, subject=f"client:{application.pk}", client_name=application.name
    )
    application.delete()


@transaction.atomic
def client_rotate_secret(*, client_id: str) -> Credentials:
    """Give a confidential portal a new secret; the old one stops working at once (OI5)."""
    application = client_get(client_id)
    if application.client_type != Application.CLIENT_CONFIDENTIAL:
        raise ClientError(f"client {client_id!r} is public and has no secret")
    secret = generate_client_secret()
    application.client_secret = secret
    application.save(update_fields=["client_secret", "updated"])
    event_record(
        EventType.CLIENT_SECRET_ROTATED,
        subject=f"client:{application.pk}",
        client_name=application.name,
    )
    return Credentials(application.client_id, secret)


def clients_list() -> list[dict[str, object]]:
    """Return every portal as plain data (never a secret)."""
    rows = []
    for app in Application.objects.select_related("portero_profile").order_by("created"):
        profile = getattr(app, "portero_profile", None)
        rows.append(
            {
                "client_id": app.client_id,
                "name": app.name,
                "public": app.client_type == Application.CLIENT_PUBLIC,
                "redirect_uris": app.redirect_uris.split(),
                "post_logout_redirect_uris": app.post_logout_redirect_uris.split(),
                "backchannel_logout_uri": profile.backchannel_logout_uri if profile else "",
                "consent": bool(profile and profile.consent_required),
                "created": app.created.isoformat(),
            }
        )
    return rows
