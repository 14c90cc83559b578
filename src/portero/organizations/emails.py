"""How organization e-mails are composed at send time, in the recipient's language."""

from __future__ import annotations

from datetime import datetime

from portero.mail.composing import Composed, NotNeeded, absolute_url
from portero.mail.models import OutboundEmail
from portero.organizations.models import Membership, MembershipState
from portero.organizations.nit import nit_display


def compose_membership_changed(email: OutboundEmail) -> Composed:
    """Tell a member what an administrator or the help desk decided (OR1)."""
    context = email.context
    return Composed(
        "membership_changed",
        {
            **context,
            "nit": nit_display(context["nit"]),
            "at": datetime.fromisoformat(context["at"]),
            "username": email.user.username if email.user else "",
            "organizations_url": absolute_url("organizations:list"),
        },
    )


def compose_membership_requested(email: OutboundEmail) -> Composed:
    """Tell an administrator that somebody asks to act for their organization, with a link
    to the requests page; not sent once the request has been decided."""
    membership = (
        Membership.objects.select_related("organization", "user")
        .filter(pk=email.context.get("membership"))
        .first()
    )
    if membership is None or membership.state != MembershipState.PENDING:
        raise NotNeeded("the request was decided already")
    organization = membership.organization
    return Composed(
        "membership_requested",
        {
            "organization_name": organization.name,
            "nit": organization.nit_display,
            "requester": membership.user.get_full_name(),
            "requester_username": membership.user.username,
            "requests_url": absolute_url("organizations:requests", pk=str(organization.pk)),
        },
    )
