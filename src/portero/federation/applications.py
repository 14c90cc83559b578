"""Mi cuenta > Aplicaciones: which portals hold access, and taking it back (OI7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
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
    """Return the portals with live tokens from this person, or a consent to sign in again
    without asking, most recent first."""
    rows: dict[int, tuple[datetime | None, set[str]]] = {}
    for app_id, used_at, scope in Authorization.objects.filter(
        user=user, used_at__isnull=False, session_ended_at__isnull=True
    ).values_list("application_id", "used_at", "scope"):
        last, scopes = rows.get(app_id, (None, set()))
        rows[app_id] = (max(filter(None, (last, used_at))), scopes | set(scope.split()))
    for app_id, granted_at, scopes in Consent.objects.filter(user=user).values_list(
        "application_id", "granted_at", "scopes"
    ):
        last, known = rows.get(app_id, (None, set()))
        rows[app_id] = (last or granted_at, known | set(scopes))
    apps = Application.objects.in_bulk(list(rows))
    listed = [
        ApplicationRow(
            apps[app_id].client_id, apps[app_id].name, last, scope_labels(sorted(scopes))
        )
        for app_id, (last, scopes) in rows.items()
        if app_id in apps and last
    ]
    return sorted(listed, key=lambda row: row.last_sign_in, reverse=True)


@transaction.atomic
def revoke(*, user: User, client_id: str, client: ClientInfo) -> str | None:
    """Take every token of this portal back, end its sessions there, forget the consent;
    return the portal's name (None if it held nothing)."""
    application = Application.objects.filter(client_id=client_id).first()
    if application is None:
        return None
    sids = list(
        Authorization.objects.filter(
            user=user, application=application, session_ended_at__isnull=True
        )
        .values_list("sid", flat=True)
        .distinct()
    )
    consented, _ = Consent.objects.filter(user=user, application=application).delete()
    if not sids and not consented:
        return None  # it held nothing: nothing to take back, nothing to record
    logouts_queue(user_id=user.pk, sids=sids, reason="revoked", application_id=application.pk)
    event_record(
        EventType.APPLICATION_REVOKED, user=user, client=client, client_name=application.name
    )
    return application.name
