"""{{ value|bogota }} or {{ value|bogota:"short" }}: a date in Colombia time (core.dates)."""

from __future__ import annotations

from datetime import datetime

from django import template

from portero.core.dates import format_datetime

register = template.Library()


@register.filter
def bogota(value: datetime | None, style: str = "datetime") -> str:
    """Return `value` in Colombia time in the active language's `style` (core.dates.FORMATS)."""
    return format_datetime(value if isinstance(value, datetime) else None, style)
