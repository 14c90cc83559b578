"""State changes on organizations and memberships. Each one takes the organization's lock,
checks the transition table (states.py), and records itself in the same transaction: the
membership's history, an audit event, and the e-mail to whoever must be told (OR1, OR2)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portero.accounts.models import User
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock
from portero.core.client import ClientInfo
from portero.core.context import helpdesk_name
from portero.federation.logout import logouts_queue
from portero.helpdesk.roles import Role as HelpdeskRole
from portero.helpdesk.roles import role_of
from portero.mail.models import EmailKind
from portero.mail.services import email_queue
from portero.organizations.models import (
    ActingFor,
    Membership,
    MembershipChange,
    MembershipState,
    Organization,
    OrganizationKind,
    Role,
)
from portero.organizations.states import TRANSITIONS, By, allowed

REASON_MAX = 200
LOGOUT_REASON = "organization"  # what portals are told ended their session (LogoutDelivery)


class MembershipRefused(Exception):
    """The change is not allowed; the message says why, for the person who asked."""

    def __init__(self, message: str | Promise, *, code: str) -> None:
        super().__init__(str(message))
        self.code = code


class OrganizationExists(Exception):
    """An organization with this NIT and kind is registered already."""

    def __init__(self, organization: Organization) -> None:
        super().__init__(f"{organization.nit}/{organization.kind} exists")
        self.organization = organization


# --- organizations -----------------------------------------------------------------------


@transaction.atomic
def organization_register(
    *,
    user: User,
    kind: OrganizationKind | str,
    name: str,
    nit: str,
    city: str,
    client: ClientInfo | None,
) -> Membership:
    """Register an organization; its creator becomes its administrator. Return that
    membership. `nit` is already normalized (nit.nit_normalize)."""
    try:
        with transaction.atomic():
            organization = Organization.objects.create(kind=kind, name=name, nit=nit, city=city)
    except IntegrityError:
        raise OrganizationExists(Organization.objects.get(nit=nit, kind=kind)) from None
    membership = Membership(organization=organization, user=user, role=Role.ADMINISTRATOR)
    _apply(membership, "register", actor=user, by=By.SYSTEM, reason="")
    event_record(
        EventType.ORGANIZATION_REGISTERED,
        user=user,
        client=client,
        subject=f"organization:{organization.pk}",
        organization=organization.pk,
        kind=str(kind),
    )
    return membership


@transaction.atomic
def organization_import(*, kind: str, name: str, nit: str, city: str) -> tuple[Organization, str]:
    """Create the organization or update its name and city; return it and "created",
    "updated" or "unchanged"."""
    organization = Organization.objects.select_for_update().filter(nit=nit, kind=kind).first()
    if organization is None:
        organization = Organization.objects.create(kind=kind, name=name, nit=nit, city=city)
        outcome, fields = "created", ["kind", "name", "nit", "city"]
    else:
        fields = [f for f, v in (("name", name), ("city", city)) if getattr(organization, f) != v]
        for field in fields:
            setattr(organization, field, name if field == "name" else city)
        if fields:
            organization.save(update_fields=fields)
        outcome = "updated" if fields else "unchanged"
    if fields:
        event_record(
            EventType.ORGANIZATION_IMPORTED,
            subject=f"organization:{organization.pk}",
            organization=organization.pk,
            outcome_kind=outcome,
            fields=fields,
        )
    return organization, outcome


def _lock(organization: Organization) -> Organization:
    """Take the organization's row lock: its membership changes go one at a time, so two
    administrators removing each other at once leave one (OR2). SQLite has one writer."""
    return Organization.objects.select_for_update().get(pk=organization.pk)


# --- memberships ------------------------------------------------------------------------


@transaction.atomic
def membership_request(
    *, user: User, organization: Organization, client: ClientInfo | None
) -> Membership:
    """Ask to act for `organization`; its administrators are told by e-mail."""
    _lock(organization)
    membership = Membership.objects.filter(organization=organization, user=user).first()
    source = membership.state if membership else None
    if not allowed("request", source=source, by=By.MEMBER):
        raise MembershipRefused(_request_refusal(source), code=f"request_from_{source}")
    membership = membership or Membership(organization=organization, user=user)
    membership.role = Role.USER
    _apply(membership, "request", actor=user, by=By.MEMBER, reason="", client=client)
    for admin in _administrators(organization):
        if admin.user.email:
            email_queue(
                kind=EmailKind.MEMBERSHIP_REQUESTED,
                to_address=admin.user.email,
                language=admin.user.preferred_language(),
                user=admin.user,
                context={"membership": membership.pk},
            )
    return membership


def _request_refusal(source: str | None) -> str | Promise:
    if source == MembershipState.PENDING:
        return _(
            "You already asked for access to this organization; its administrators have been told."
        )
    if source == MembershipState.ACCEPTED:
        return _("You already act for this organization.")
    return _(
        "An administrator of this organization turned down your request. Contact them, or "
        "the %(helpdesk)s, to review it."
    ) % {"helpdesk": helpdesk_name()}


def membership_decide(
    *,
    actor: User,
    membership: Membership,
    action: str,
    by: By,
    reason: str = "",
    client: ClientInfo | None,
) -> Membership:
    """Accept, reject, cancel, or revert a rejection, as an administrator of the membership's
    organization or as the Mesa de Servicio (with a reason); the member is told (OR1).
    A refusal is recorded too (LG1), after its transaction is rolled back."""
    try:
        return _decide(
            actor=actor,
            membership=membership,
            action=action,
            by=by,
            reason=reason.strip()[:REASON_MAX],
            client=client,
        )
    except MembershipRefused as refusal:
        membership_refusal_record(actor, membership, action, refusal, by=by, client=client)
        raise


@transaction.atomic
def _decide(
    *,
    actor: User,
    membership: Membership,
    action: str,
    by: By,
    reason: str,
    client: ClientInfo | None,
) -> Membership:
    _lock(membership.organization)
    membership = Membership.objects.select_related("organization", "user").get(pk=membership.pk)
    _authorize(actor, membership.organization, by=by, reason=reason)
    if not allowed(action, source=membership.state, by=by):
        raise MembershipRefused(
            _("That change is not possible now: the request has changed meanwhile."),
            code="transition",
        )
    was_accepted = membership.state == MembershipState.ACCEPTED
    if action == "cancel" and was_accepted and membership.role == Role.ADMINISTRATOR:
        _keep_an_administrator(membership)
    _apply(membership, action, actor=actor, by=by, reason=reason, client=client)
    if was_accepted:
        acting_for_end(membership=membership, forget=True)
    _member_notice(membership, action=action, reason=reason, by=by)
    return membership


def membership_set_role(
    *, actor: User, membership: Membership, role: Role | str, client: ClientInfo | None
) -> bool:
    """Make an accepted member an administrator or a user; return False if it already was.
    The last active administrator cannot be demoted (OR2)."""
    try:
        return _set_role(actor=actor, membership=membership, role=str(role), client=client)
    except MembershipRefused as refusal:
        membership_refusal_record(
            actor, membership, f"role:{role}", refusal, by=By.ADMINISTRATOR, client=client
        )
        raise


@transaction.atomic
def _set_role(*, actor: User, membership: Membership, role: str, client: ClientInfo | None) -> bool:
    _lock(membership.organization)
    membership = Membership.objects.select_related("organization", "user").get(pk=membership.pk)
    _authorize(actor, membership.organization, by=By.ADMINISTRATOR, reason="")
    if membership.state != MembershipState.ACCEPTED:
        raise MembershipRefused(_("Only accepted members have a role."), code="not_member")
    if membership.role == role:
        return False
    if membership.role == Role.ADMINISTRATOR:
        _keep_an_administrator(membership)
    previous, membership.role = membership.role, role
    membership.changed_at, membership.changed_by, membership.change_reason = (
        clock.now(),
        actor,
        "",
    )
    membership.save(update_fields=["role", "changed_at", "changed_by", "change_reason"])
    _history(
        membership, "role", from_state=membership.state, actor=actor, by=By.ADMINISTRATOR, reason=""
    )
    event_record(
        EventType.MEMBERSHIP_ROLE_CHANGED,
        user=membership.user,
        client=client,
        actor=f"user:{actor.pk}",
        subject=f"organization:{membership.organization_id}",
        membership=membership.pk,
        organization=membership.organization_id,
        role_from=previous,
        role=membership.role,
    )
    acting_for_end(membership=membership, forget=False)  # portals hold the old role
    _member_notice(membership, action="role", reason="", by=By.ADMINISTRATOR)
    return True


@transaction.atomic
def membership_import(*, user: User, organization: Organization, role: Role | str) -> str:
    """Make `user` an accepted member with `role` (an operator's import); return "created",
    "updated" or "unchanged". Never demotes the last administrator (OR2)."""
    _lock(organization)
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is not None and membership.state == MembershipState.ACCEPTED:
        if membership.role == role:
            return "unchanged"
        if membership.role == Role.ADMINISTRATOR:
            _keep_an_administrator(membership)
        membership.role = str(role)
        membership.save(update_fields=["role"])
        _history(
            membership, "role", from_state=membership.state, actor=None, by=By.IMPORT, reason=""
        )
        event_record(
            EventType.MEMBERSHIP_ROLE_CHANGED,
            user=user,
            actor="import",
            subject=f"organization:{organization.pk}",
            membership=membership.pk,
            organization=organization.pk,
            role=membership.role,
        )
        return "updated"
    created = membership is None
    membership = membership or Membership(organization=organization, user=user)
    membership.role = str(role)
    _apply(membership, "import", actor=None, by=By.IMPORT, reason="")
    return "created" if created else "updated"


def _authorize(actor: User, organization: Organization, *, by: By, reason: str) -> None:
    """Refuse unless `actor` may decide for `organization` in the capacity `by` (OR1)."""
    if by == By.HELPDESK:
        if role_of(actor) < HelpdeskRole.SUPERVISOR:
            raise MembershipRefused(
                _("Only a supervisor of the %(helpdesk)s may do that.")
                % {"helpdesk": helpdesk_name()},
                code="not_supervisor",
            )
        if not reason:
            raise MembershipRefused(_("Write the reason or the ticket number."), code="no_reason")
        return
    if by != By.ADMINISTRATOR or not is_administrator(actor, organization):
        raise MembershipRefused(
            _("Only an administrator of this organization may do that."), code="not_administrator"
        )


def is_administrator(user: User, organization: Organization) -> bool:
    """True when `user` is an accepted administrator of `organization`."""
    return Membership.objects.filter(
        organization=organization,
        user=user,
        state=MembershipState.ACCEPTED,
        role=Role.ADMINISTRATOR,
    ).exists()


def _administrators(organization: Organization) -> list[Membership]:
    return list(
        Membership.objects.filter(
            organization=organization,
            state=MembershipState.ACCEPTED,
            role=Role.ADMINISTRATOR,
            user__is_active=True,
        ).select_related("user")
    )


def _keep_an_administrator(leaving: Membership) -> None:
    """Refuse if `leaving` is the organization's last active administrator (OR2). Called
    under the organization's lock, so a concurrent change cannot slip between."""
    others = Membership.objects.filter(
        organization_id=leaving.organization_id,
        state=MembershipState.ACCEPTED,
        role=Role.ADMINISTRATOR,
        user__is_active=True,
    ).exclude(pk=leaving.pk)
    if not others.exists():
        raise MembershipRefused(
            _(
                "An organization always keeps at least one active "
                "administrator: name another one first."
            ),
            code="last_administrator",
        )


def _apply(
    membership: Membership,
    action: str,
    *,
    actor: User | None,
    by: By,
    reason: str,
    client: ClientInfo | None = None,
) -> None:
    """Move `membership` along transition `action`, with its history and audit event."""
    source = membership.state if membership.pk else None
    membership.state = TRANSITIONS[action].target
    membership.changed_at, membership.changed_by = clock.now(), actor
    membership.change_reason = reason
    membership.save()
    _history(membership, action, from_state=source or "", actor=actor, by=by, reason=reason)
    event_record(
        EventType.MEMBERSHIP_CHANGED,
        user=membership.user,
        client=client,
        actor=_actor_name(actor, by),
        subject=f"organization:{membership.organization_id}",
        membership=membership.pk,
        organization=membership.organization_id,
        action=action,
        state_from=source or "",
        state=membership.state,
        role=membership.role,
        by=str(by),
        **({"reason": reason} if reason else {}),
    )


def _actor_name(actor: User | None, by: By) -> str:
    if actor is None:
        return "import" if by == By.IMPORT else "system"
    return f"agent:{actor.pk}" if by == By.HELPDESK else f"user:{actor.pk}"


def _history(
    membership: Membership, action: str, *, from_state: str, actor: User | None, by: By, reason: str
) -> None:
    MembershipChange.objects.create(
        membership=membership,
        action=action,
        from_state=from_state,
        to_state=membership.state,
        role=membership.role,
        actor=actor,
        by=str(by),
        reason=reason,
        at=membership.changed_at,
    )


def membership_refusal_record(
    actor: User,
    membership: Membership,
    action: str,
    refusal: MembershipRefused,
    *,
    by: By,
    client: ClientInfo | None,
) -> None:
    """Record a refused change: the attempt is what an investigation looks for (LG1). For a
    caller whose own transaction rolled the services' record back with its work."""
    event_record(
        EventType.MEMBERSHIP_REFUSED,
        outcome="refused",
        user=membership.user,
        client=client,
        actor=_actor_name(actor, by),
        subject=f"organization:{membership.organization_id}",
        membership=membership.pk,
        organization=membership.organization_id,
        action=action[:40],
        why=refusal.code,
    )


def _member_notice(membership: Membership, *, action: str, reason: str, by: By) -> None:
    """Tell the member, in their language, what changed and why (OR1)."""
    user = membership.user
    if not user.email:
        return
    organization = membership.organization
    email_queue(
        kind=EmailKind.MEMBERSHIP_CHANGED,
        to_address=user.email,
        language=user.preferred_language(),
        user=user,
        context={
            "action": action,
            "state": membership.state,
            "role": membership.role,
            "organization_name": organization.name,
            "nit": organization.nit,
            "kind": organization.kind,
            "reason": reason,
            "by_helpdesk": by == By.HELPDESK,
            "at": membership.changed_at.isoformat(),
        },
    )


# --- which organization a session acts for (OR3) ----------------------------------------


@transaction.atomic
def acting_for_choose(
    *, user: User, sid: str, membership: Membership, via: str, client: ClientInfo | None
) -> bool:
    """Make the session named `sid` act for `membership` (accepted, the user's own). A switch
    ends the session at the portals (back-channel logout): their tokens name the previous
    organization. Return False when it already acted for it."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.user_id != user.pk or membership.state != MembershipState.ACCEPTED:
        raise MembershipRefused(_("You do not act for that organization."), code="not_member")
    current = ActingFor.objects.filter(sid=sid).first()
    if current is not None and current.membership_id == membership.pk:
        return False
    now = clock.now()
    ended = logouts_queue(user_id=user.pk, sids=[sid], reason=LOGOUT_REASON) if current else 0
    ActingFor.objects.update_or_create(
        sid=sid, defaults={"user": user, "membership": membership, "chosen_at": now}
    )
    Membership.objects.filter(pk=membership.pk).update(last_chosen_at=now)
    event_record(
        EventType.ORGANIZATION_CHOSEN,
        user=user,
        client=client,
        subject=f"organization:{membership.organization_id}",
        organization=membership.organization_id,
        previous=current.membership.organization_id if current else None,
        via=via,
        portal_sessions_ended=ended,
    )
    return True


def acting_for_end(*, membership: Membership, forget: bool) -> int:
    """End at the portals every session acting for `membership` (its role changed, or it was
    cancelled); with `forget`, those sessions act for nobody now. Return how many sessions."""
    sids = list(ActingFor.objects.filter(membership=membership).values_list("sid", flat=True))
    if sids:
        logouts_queue(user_id=membership.user_id, sids=sids, reason=LOGOUT_REASON)
        if forget:
            ActingFor.objects.filter(sid__in=sids).delete()
    return len(sids)


def acting_for_forget(sender: Any, *, user_id: int, sids: list[str], **kwargs: Any) -> None:
    """`accounts.signals.sessions_ended` receiver: an ended session acts for nobody."""
    if sids:
        ActingFor.objects.filter(sid__in=sids).delete()
