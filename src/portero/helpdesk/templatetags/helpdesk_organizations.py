"""The memberships section of the console's account page, as an inclusion tag so that the
account page's view stays as it is."""

from __future__ import annotations

from typing import Any

from django import template

from portero.accounts.models import User
from portero.organizations.selectors import memberships_of

register = template.Library()


@register.inclusion_tag("helpdesk/_memberships.html")
def memberships_of_account(account: User) -> dict[str, Any]:
    """Every membership of `account`, in any state, with its last change."""
    return {"memberships": list(memberships_of(account).select_related("changed_by"))}
