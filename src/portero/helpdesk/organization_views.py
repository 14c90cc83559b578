"""The console's organization page and a supervisor's decisions on memberships: thin
adapters over organizations.selectors and helpdesk.memberships."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portero.accounts.models import User
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core.client import ClientInfo
from portero.helpdesk.forms import MembershipActionForm
from portero.helpdesk.memberships import (
    MEMBERSHIP_ACTIONS,
    helpdesk_membership_decide,
    membership_actions_allowed,
    receipt_action,
)
from portero.helpdesk.roles import Role, role_of
from portero.helpdesk.services import ActionRefused, helpdesk_refusal_record
from portero.helpdesk.views import console
from portero.organizations.models import Membership, MembershipState, Organization
from portero.organizations.selectors import history_of, members_of
from portero.organizations.services import MembershipRefused

HISTORY_SIZE = 50


def _agent(request: HttpRequest) -> User:
    agent = request.user
    assert isinstance(agent, User)
    return agent


@console
@require_http_methods(["GET", "HEAD"])
def organization_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Members, pending requests and the history of an organization (OR4: the console and
    the organization's administrators only)."""
    organization = get_object_or_404(Organization, pk=pk)
    agent = _agent(request)
    # A read, recorded on purpose: who saw an organization's members is a help-desk action
    # (LG1, OR4).
    event_record(
        EventType.HELPDESK_ORGANIZATION_VIEWED,
        actor=f"agent:{agent.pk}",
        client=ClientInfo.from_request(request),
        subject=f"organization:{organization.pk}",
        organization=organization.pk,
    )

    def rows(*states: str) -> list[tuple[Membership, list[tuple[str, MembershipActionForm]]]]:
        return [
            (
                m,
                [
                    (
                        str(action.label),
                        MembershipActionForm(
                            auto_id=False,
                            initial={"action": action.name, "token": secrets.token_urlsafe(24)},
                        ),
                    )
                    for action in membership_actions_allowed(agent, m)
                ],
            )
            for m in members_of(organization, *states)
        ]

    return render(
        request,
        "helpdesk/organization.html",
        {
            "organization": organization,
            "members": rows(MembershipState.ACCEPTED),
            "pending": rows(MembershipState.PENDING),
            "others": members_of(organization, MembershipState.REJECTED, MembershipState.CANCELLED),
            "history": history_of(organization, limit=HISTORY_SIZE),
            "supervisor": role_of(agent) >= Role.SUPERVISOR,
        },
    )


@console
@require_POST
def membership_decide(request: HttpRequest, pk: int, membership: int) -> HttpResponse:
    """Accept or cancel a membership of organization `pk`, as a supervisor, with a reason."""
    chosen = get_object_or_404(
        Membership.objects.select_related("user", "organization"), pk=membership, organization_id=pk
    )
    agent = _agent(request)
    client = ClientInfo.from_request(request)
    form = MembershipActionForm(request.POST)
    asked = str(request.POST.get("action", ""))
    recorded = receipt_action(asked) if asked in MEMBERSHIP_ACTIONS else "(unknown)"
    if not form.is_valid():
        helpdesk_refusal_record(
            agent=agent, target=chosen.user, action=recorded, why="invalid form", client=client
        )
        messages.error(request, _("Write the reason or the ticket number."))
        return redirect("helpdesk:organization", pk=pk)
    try:
        done = helpdesk_membership_decide(
            agent=agent, membership=chosen, client=client, **form.cleaned_data
        )
    except (ActionRefused, MembershipRefused) as refusal:
        why = refusal.code if isinstance(refusal, MembershipRefused) else str(refusal)
        helpdesk_refusal_record(
            agent=agent, target=chosen.user, action=recorded, why=why, client=client
        )
        messages.error(request, str(refusal))
        return redirect("helpdesk:organization", pk=pk)
    if done:
        messages.success(
            request,
            str(MEMBERSHIP_ACTIONS[form.cleaned_data["action"]].done)
            % {"name": chosen.user.get_full_name() or chosen.user.username},
        )
    else:
        messages.info(request, _("That action had already been done (the form was sent twice)."))
    return redirect("helpdesk:organization", pk=pk)
