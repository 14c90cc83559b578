"""Template tags of the factors app."""

from __future__ import annotations

from django import template

from portero.factors import passkeys

register = template.Library()


@register.simple_tag
def passkeys_available() -> bool:
    """True when this site's address lets browsers use passkeys (factors.passkeys.available)."""
    return passkeys.available()
