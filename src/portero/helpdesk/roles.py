"""Who may do what in the console. Roles are Django groups holding our two permissions."""

from __future__ import annotations

from enum import IntEnum

from django.contrib.auth.models import Permission
from django.db.models import Q

from portero.accounts.models import User
from portero.accounts.services import ROLE_GROUPS

AGENT_GROUP = ROLE_GROUPS["agent"]
SUPERVISOR_GROUP = ROLE_GROUPS["supervisor"]


class Role(IntEnum):
    NONE = 0
    AGENT = 1
    SUPERVISOR = 2
    ADMINISTRATOR = 3


def role_of(user: User) -> Role:
    """Return the console role `user` may use now: none while the account is disabled."""
    return rank_of(user) if user.is_active else Role.NONE


def rank_of(user: User) -> Role:
    """Return the console role `user` holds, enabled or not (administrators are superusers).

    A disabled account keeps its rank, so that nobody below it may enable it again, unlock
    it or end its sessions. Read from the groups and permissions themselves: Django grants
    a disabled account no permission at all.
    """
    if not user.is_staff:
        return Role.NONE
    if user.is_superuser:
        return Role.ADMINISTRATOR
    held = set(
        Permission.objects.filter(
            Q(group__user=user) | Q(user=user),
            content_type__app_label="helpdesk",
        ).values_list("codename", flat=True)
    )
    if "supervise" in held:
        return Role.SUPERVISOR
    if "use_console" in held:
        return Role.AGENT
    return Role.NONE


def may_act_on(agent: User, target: User) -> bool:
    """An agent acts on ordinary accounts only; nobody acts on a role equal to or above theirs,
    enabled or disabled (administrators excepted), nor on themselves."""
    mine, theirs = role_of(agent), rank_of(target)
    if mine == Role.NONE or agent.pk == target.pk:
        return False
    if mine == Role.ADMINISTRATOR:
        return True
    return not target.is_staff or theirs < mine
