"""Mi cuenta > Aplicaciones: which portals hold access, and taking it back (OI7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from oauth2_provider.models import Application

from portero.accounts.models import User
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core.client import ClientInfo
from portero.federation.consent import scope_labels
from portero.federation.logout import logouts_queue
from portero.federation.models import Authorization, Consent


@dataclass(frozen=True)
class ApplicationRow:
    client_id: str
    name: str
    last_sign_in: datetime
    scopes: list[str]  # what each granted scope lets the portal see, in words


def holding_access(user: User) -> list[ApplicationRow]:
    """Return the portals with live tokens from this person, most recent first."""
    live = (Authorization.objects.filter(user=user, used_at__isnull=False,
                                         session_ended_at__isnull=True)
            .values("application_id").annotate(last=Max("used_at")).order_by("-last"))
    names = Application.objects.in_bulk([row["application_id"] for row in live])
    scopes: dict[int, set[str]] = {}
    for app_id, scope in Authorization.objects.filter(
            user=user, used_at__isnull=False, session_ended_at__isnull=True
    ).values_list("application_id", "scope"):
        scopes.setdefault(app_id, set()).update(scope.split())
    return [ApplicationRow(names[row["application_id"]].client_id,
                           names[row["application_id"]].name, row["last"],
                           scope_labels(sorted(scopes.get(row["application_id"], set()))))
            for row in live if row["application_id"] in names]


@transaction.atomic
def revoke(*, user: User, client_id: str, client: ClientInfo) -> str | None:
    """Take every token of this portal back, end its sessions there, forget the consent;
    return the portal's name (None if it held nothing)."""
    application = Application.objects.filter(client_id=client_id).first()
    if application is None:
        return None
    sids = list(Authorization.objects.filter(
        user=user, application=application, session_ended_at__isnull=True
    ).values_list("sid", flat=True).distinct())
    logouts_queue(user_id=user.pk, sids=sids, reason="revoked", application_id=application.pk)
    Consent.objects.filter(user=user, application=application).delete()
    event_record(EventType.APPLICATION_REVOKED, user=user, client=client,
                 client_name=application.name)
    return application.name
