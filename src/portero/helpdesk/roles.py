"""Who may do what in the console. Roles are Django groups holding our two permissions."""

from __future__ import annotations

from enum import IntEnum

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
    """Return the console role of `user` (administrators are superusers)."""
    if not user.is_active or not user.is_staff:
        return Role.NONE
    if user.is_superuser:
        return Role.ADMINISTRATOR
    if user.has_perm("helpdesk.supervise"):
        return Role.SUPERVISOR
    if user.has_perm("helpdesk.use_console"):
        return Role.AGENT
    return Role.NONE


def may_act_on(agent: User, target: User) -> bool:
    """An agent acts on ordinary accounts only; nobody acts on a role equal to or above theirs
    (administrators excepted) nor on themselves."""
    mine, theirs = role_of(agent), role_of(target)
    if mine == Role.NONE or agent.pk == target.pk:
        return False
    if mine == Role.ADMINISTRATOR:
        return True
    return not target.is_staff or theirs < mine
