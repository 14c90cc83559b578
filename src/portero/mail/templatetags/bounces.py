"""{% undeliverable_address user as flag %}: the hard bounce flagging `user`'s current address,
for the help-desk console and the owner's "Mi cuenta" page (never an anonymous page, FR1)."""

from __future__ import annotations

from typing import Any

from django import template

from portero.mail.bounces import address_undeliverable
from portero.mail.models import UndeliverableAddress

register = template.Library()


@register.simple_tag
def undeliverable_address(user: Any) -> UndeliverableAddress | None:
    return address_undeliverable(user)
