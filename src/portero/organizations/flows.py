"""The journeys of "Mis organizaciones": register, ask for access, decide, choose (OR1-OR3).

Each turns a request into one service call with the person, their session and their client
details; none builds a response.
"""

from __future__ import annotations

from django.http import HttpRequest

from portero.accounts.flows import SID
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


def register_organization(request: HttpRequest, *, user: User, kind: str, name: str, nit: str,
                          city: str) -> Membership:
    """Register an organization with `user` as its administrator; the session acts for it
    if it acted for nobody yet."""
    membership = organization_register(user=user, kind=kind, name=name, nit=nit, city=city,
                                       client=ClientInfo.from_request(request))
    if selectors.acting_for(_sid(request)) is None:
        choose(request, user=user, membership=membership, via="registered")
    return membership


def ask_access(request: HttpRequest, *, user: User, organization_id: int) -> Membership | None:
    """Ask to act for an active organization; None if there is no such organization."""
    organization = Organization.objects.filter(pk=organization_id,
                                               status=OrganizationStatus.ACTIVE).first()
    if organization is None:
        return None
    return membership_request(user=user, organization=organization,
                              client=ClientInfo.from_request(request))


def decide(request: HttpRequest, *, user: User, organization: Organization, membership_id: int,
           action: str, reason: str) -> Membership | None:
    """An administrator's decision on a membership of their organization; None if there is
    no such membership in it."""
    membership = Membership.objects.filter(pk=membership_id, organization=organization).first()
    if membership is None:
        return None
    return membership_decide(actor=user, membership=membership, action=action,
                             by=By.ADMINISTRATOR, reason=reason,
                             client=ClientInfo.from_request(request))


def change_role(request: HttpRequest, *, user: User, organization: Organization,
                membership_id: int, role: str) -> bool | None:
    """An administrator makes a member administrator or user; None if no such member."""
    membership = Membership.objects.filter(pk=membership_id, organization=organization).first()
    if membership is None:
        return None
    return membership_set_role(actor=user, membership=membership, role=role,
                               client=ClientInfo.from_request(request))


def choose(request: HttpRequest, *, user: User, membership: Membership, via: str) -> bool:
    """Act for `membership` in this session from now on (OR3); return False if it already
    did. Switching ends the session at the portals (docs/organizations.md)."""
    sid = _sid(request)
    if not sid:  # a session from before portals existed has no name to keep the choice by
        return False
    return acting_for_choose(user=user, sid=sid, membership=membership, via=via,
                             client=ClientInfo.from_request(request))


def choose_by_id(request: HttpRequest, *, user: User, membership_id: int) -> bool | None:
    """Choose one of the person's own accepted memberships; None if it is not one."""
    choices, acting = selectors.choices_for_session(user, _sid(request))
    membership = next((m for m in choices if m.pk == membership_id), None)
    if membership is None:
        return None
    return choose(request, user=user, membership=membership,
                  via="switch" if acting is not None else "selector")


def _sid(request: HttpRequest) -> str:
    return str(request.session.get(SID, ""))
