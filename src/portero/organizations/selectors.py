"""What a person may see about organizations: their own memberships, a short search, and,
for administrators only, their organization's members and requests (OR4)."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from portero.accounts.models import User
from portero.organizations.models import (
    ActingFor,
    Membership,
    MembershipChange,
    MembershipState,
    Organization,
    OrganizationStatus,
    Role,
)
from portero.organizations.nit import InvalidNit, nit_normalize

SEARCH_MIN = 3  # characters of a name before searching: no browsing the whole list
SEARCH_LIMIT = 10  # a short list: who acts for them is never shown (OR4)


def memberships_of(user: User) -> QuerySet[Membership]:
    """Return every membership of `user`, accepted first, the last chosen first among them."""
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by(F("last_chosen_at").desc(nulls_last=True), "organization__name")
    )


def choices_of(user: User) -> list[Membership]:
    """Return the memberships `user` may act for, for the company selector."""
    return list(
        memberships_of(user).filter(
            state=MembershipState.ACCEPTED, organization__status=OrganizationStatus.ACTIVE
        )
    )


def choices_for_session(user: User, sid: str) -> tuple[list[Membership], Membership | None]:
    """Return the memberships `user` may act for and the one the session `sid` acts for
    (None if none of them), in one query."""
    choices: list[Membership] = list(
        memberships_of(user)
        .filter(
            state=MembershipState.ACCEPTED,
            organization__status=OrganizationStatus.ACTIVE,
        )
        .annotate(acting=Exists(ActingFor.objects.filter(sid=sid, membership=OuterRef("pk"))))
    )
    acting = next((m for m in choices if getattr(m, "acting", False)), None)
    return choices, acting


def organizations_find(query: str) -> list[Organization]:
    """Return active organizations with exactly this NIT, or, for a name, at most
    SEARCH_LIMIT whose name contains it. Organizations only: never their members (OR4)."""
    active = Organization.objects.filter(status=OrganizationStatus.ACTIVE)
    try:
        return list(active.filter(nit=nit_normalize(query)).order_by("kind"))
    except InvalidNit:
        pass
    words = query.split()
    if len("".join(words)) < SEARCH_MIN:
        return []
    found = active
    for word in words[:5]:
        found = found.filter(name__icontains=word)
    return list(found.order_by("name")[:SEARCH_LIMIT])


def administered(user: User, pk: int) -> Organization | None:
    """Return organization `pk` if `user` is an accepted administrator of it, else None."""
    return Organization.objects.filter(
        pk=pk,
        memberships__user=user,
        memberships__state=MembershipState.ACCEPTED,
        memberships__role=Role.ADMINISTRATOR,
    ).first()


def members_of(organization: Organization, *states: str) -> QuerySet[Membership]:
    """Return the organization's memberships in `states` (for its administrators and the
    help desk only: OR4)."""
    return (
        Membership.objects.filter(organization=organization, state__in=states)
        .select_related("user", "changed_by")
        .order_by("user__username")
    )


def history_of(organization: Organization, limit: int = 100) -> QuerySet[MembershipChange]:
    """Return the latest changes to the organization's memberships, newest first."""
    return (
        MembershipChange.objects.filter(membership__organization=organization)
        .select_related("membership__user", "actor")
        .order_by("-at", "-pk")[:limit]
    )


def acting_for(sid: str) -> Membership | None:
    """Return the accepted membership the session named `sid` acts for, or None."""
    if not sid:
        return None
    chosen = (
        ActingFor.objects.filter(sid=sid, membership__state=MembershipState.ACCEPTED)
        .select_related("membership__organization")
        .first()
    )
    return chosen.membership if chosen else None


def organizations_search_console(query: str, limit: int = 25) -> tuple[list[Organization], bool]:
    """Return up to `limit` organizations, active or not, whose NIT starts with the digits
    typed (at least five, with or without dots, dash and check digit) or whose name contains
    every word typed, by name; and whether more match. For the help desk only."""
    digits = "".join(ch for ch in query if ch.isdigit())
    words = query.split()[:5]
    by_name = Q()
    for word in words:
        by_name &= Q(name__icontains=word)
    condition = by_name if words else Q(pk__in=[])
    if len(digits) >= 5:
        condition |= Q(nit__startswith=digits)
    found = list(Organization.objects.filter(condition).order_by("name", "kind")[: limit + 1])
    return found[:limit], len(found) > limit


def organizations_by_username(usernames: list[str]) -> dict[str, list[str]]:
    """Return, for each username, the organizations it acts for ("Name (NIT)"), for the
    username reminder: which username to use for which company."""
    found: dict[str, list[str]] = {}
    accepted = (
        Membership.objects.filter(user__username__in=usernames, state=MembershipState.ACCEPTED)
        .select_related("organization", "user")
        .order_by("organization__name")
    )
    for membership in accepted:
        organization = membership.organization
        found.setdefault(membership.user.username, []).append(
            f"{organization.name} ({organization.nit_display})"
        )
    return found
