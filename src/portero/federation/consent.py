"""Consent for portals that ask for it (`portero client add --consent`; OI7)."""

from __future__ import annotations

from django.db import transaction
from oauth2_provider.models import Application
from oauth2_provider.settings import oauth2_settings

from portero.accounts.models import User
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core.client import ClientInfo
from portero.federation.models import Consent


def on_file(*, user: User, application: Application, scopes: list[str]) -> bool:
    """True when `user` already agreed that `application` may see all of `scopes`."""
    agreed = (
        Consent.objects.filter(user=user, application=application)
        .values_list("scopes", flat=True)
        .first()
    )
    return agreed is not None and set(scopes) <= set(agreed)


@transaction.atomic
def remember(
    *, user: User, application: Application, scopes: list[str], client: ClientInfo
) -> None:
    """Record the agreement, and the event, unless it was on file already."""
    if on_file(user=user, application=application, scopes=scopes):
        return
    Consent.objects.update_or_create(
        user=user, application=application, defaults={"scopes": sorted(set(scopes))}
    )
    event_record(
        EventType.CONSENT_GRANTED,
        user=user,
        client=client,
        client_name=application.name,
        scopes=" ".join(sorted(scopes)),
    )


def scope_labels(scopes: list[str]) -> list[str]:
    """Return what each scope lets the portal see, in the person's language."""
    return [str(oauth2_settings.SCOPES[s]) for s in scopes if s in oauth2_settings.SCOPES]
