"""The Mesa de Servicio's decisions on memberships: a supervisor accepts or cancels, with a
reason, once per submitted form; agents only look (docs/organizations.md, OR1, OR2).

The decision itself is `organizations.services.membership_decide`: the same transitions,
last-administrator rule, history, audit event and e-mail to the member as an
administrator's, recorded as made by the help desk (`by: helpdesk`, `actor: agent:<id>`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portero.accounts.models import User
from portero.core.client import ClientInfo
from portero.core.context import helpdesk_name
from portero.helpdesk.models import ActionReceipt
from portero.helpdesk.roles import Role, may_act_on, role_of
from portero.helpdesk.services import ActionRefused
from portero.organizations.models import Membership
from portero.organizations.services import (
    REASON_MAX,
    MembershipRefused,
    membership_decide,
    membership_refusal_record,
)
from portero.organizations.states import By, decisions_for


@dataclass(frozen=True)
class MembershipAction:
    name: str  # a transition of organizations/states.py the help desk may make
    label: str | Promise
    done: str | Promise  # what the supervisor is told, with %(name)s the member


MEMBERSHIP_ACTIONS = {
    action.name: action
    for action in [
        MembershipAction(
            "accept",
            _("Accept"),
            _("%(name)s now acts for the organization and was told by e-mail."),
        ),
        MembershipAction(
            "cancel",
            _("Cancel the access"),
            _("%(name)s no longer acts for the organization and was told by e-mail."),
        ),
    ]
}


def receipt_action(action: str) -> str:
    """How a membership decision is named on its ActionReceipt and refusal records."""
    return f"membership_{action}"


def membership_actions_allowed(agent: User, membership: Membership) -> list[MembershipAction]:
    """Return the decisions `agent` may make on `membership` now: a supervisor's, on someone
    they may act on (never themselves), in the states the transition table allows."""
    if role_of(agent) < Role.SUPERVISOR or not may_act_on(agent, membership.user):
        return []
    return [
        MEMBERSHIP_ACTIONS[name]
        for name in decisions_for(membership.state, By.HELPDESK)
        if name in MEMBERSHIP_ACTIONS
    ]


def helpdesk_membership_decide(
    *, agent: User, membership: Membership, action: str, reason: str, token: str, client: ClientInfo
) -> bool:
    """Accept or cancel `membership` as the help desk, once per form `token`; return False if
    that form was already used. Raise ActionRefused when the console refuses (not a
    supervisor, not on this person, no reason) and MembershipRefused when the change is not
    possible (its state changed, the last administrator: OR2), recorded as refused."""
    if role_of(agent) < Role.SUPERVISOR:
        raise ActionRefused(
            _("Only a supervisor of the %(helpdesk)s may do that.") % {"helpdesk": helpdesk_name()}
        )
    if action not in MEMBERSHIP_ACTIONS or not may_act_on(agent, membership.user):
        raise ActionRefused(_("You may not do that on this account."))
    reason = reason.strip()[:REASON_MAX]
    if not reason:
        raise ActionRefused(_("Write the reason or the ticket number."))
    try:
        return _decide_once(
            agent=agent,
            membership=membership,
            action=action,
            reason=reason,
            token=token,
            client=client,
        )
    except MembershipRefused as refusal:  # its record went with the rolled-back transaction
        membership_refusal_record(agent, membership, action, refusal, by=By.HELPDESK, client=client)
        raise


@transaction.atomic
def _decide_once(
    *, agent: User, membership: Membership, action: str, reason: str, token: str, client: ClientInfo
) -> bool:
    try:
        with transaction.atomic():
            ActionReceipt.objects.create(
                token=token, agent=agent, action=receipt_action(action), target=membership.user
            )
    except IntegrityError:
        return False  # a double click: the first submission did it
    membership_decide(
        actor=agent,
        membership=membership,
        action=action,
        by=By.HELPDESK,
        reason=reason,
        client=client,
    )
    return True
