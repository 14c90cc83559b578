"""The journeys of "Mis organizaciones": register, ask for access, decide, choose (OR1-OR3).

Each makes one service call with the person, their session's name to the portals (`sid`,
for the organization it acts for) and the client the view describes; none sees the HTTP
request nor builds a response.
"""

from __future__ import annotations

from portero.accounts.models import User
from portero.core.client import ClientInfo
from portero.organizations import selectors
from portero.organizations.models import Membership, Organization, OrganizationStatus
from portero.organizations.services import (
    acting_for_choose,
    membership_decide,
    membership_request,
    membership_set_role,
    organization_register,
)
from portero.organizations.states import By


def register_organization(
    *, user: User, client: ClientInfo, sid: str, kind: str, name: str, nit: str, city: str
) -> Membership:
    """Register an organization with `user` as its administrator; the session `sid` acts for
    it if it acted for nobody yet."""
    membership = organization_register(
        user=user, kind=kind, name=name, nit=nit, city=city, client=client
    )
    if selectors.acting_for(sid) is None:
        choose(user=user, client=client, sid=sid, membership=membership, via="registered")
    return membership


def ask_access(*, user: User, client: ClientInfo, organization_id: int) -> Membership | None:
    """Ask to act for an active organization; None if there is no such organization."""
    organization = Organization.objects.filter(
        pk=organization_id, status=OrganizationStatus.ACTIVE
    ).first()
    if organization is None:
        return None
    return membership_request(user=user, organization=organization, client=client)


def decide(
    *,
    user: User,
    client: ClientInfo,
    organization: Organization,
    membership_id: int,
    action: str,
    reason: str,
) -> Membership | None:
    """An administrator's decision on a membership of their organization; None if there is
    no such membership in it."""
    membership = Membership.objects.filter(pk=membership_id, organization=organization).first()
    if membership is None:
        return None
    return membership_decide(
        actor=user,
        membership=membership,
        action=action,
        by=By.ADMINISTRATOR,
        reason=reason,
        client=client,
    )


def change_role(
    *, user: User, client: ClientInfo, organization: Organization, membership_id: int, role: str
) -> bool | None:
    """An administrator makes a member administrator or user; None if no such member."""
    membership = Membership.objects.filter(pk=membership_id, organization=organization).first()
    if membership is None:
        return None
    return membership_set_role(actor=user, membership=membership, role=role, client=client)


def choose(*, user: User, client: ClientInfo, sid: str, membership: Membership, via: str) -> bool:
    """Act for `membership` in the session `sid` from now on (OR3); return False if it
    already did. Switching ends the session at the portals (docs/organizations.md)."""
    if not sid:  # a session from before portals existed has no name to keep the choice by
        return False
    return acting_for_choose(user=user, sid=sid, membership=membership, via=via, client=client)


def choose_by_id(*, user: User, client: ClientInfo, sid: str, membership_id: int) -> bool | None:
    """Choose one of the person's own accepted memberships; None if it is not one."""
    choices, acting = selectors.choices_for_session(user, sid)
    membership = next((m for m in choices if m.pk == membership_id), None)
    if membership is None:
        return None
    return choose(
        user=user,
        client=client,
        sid=sid,
        membership=membership,
        via="switch" if acting is not None else "selector",
    )
