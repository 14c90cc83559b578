"""Dates and times as people read them: in Colombia time, in the active language's format.

Every date shown on a page or in an e-mail goes through `format_datetime` (templates: the
`bogota` filter of `{% load dates %}`), so a time reads the same wherever it appears.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import formats, timezone
from django.utils.translation import gettext_noop

FORMATS: dict[str, str] = {
    "datetime": "DATETIME_FORMAT",  # 30 de noviembre de 2026, 2:38 a. m.
    "date": "DATE_FORMAT",  # 30 de noviembre de 2026
    "time": "TIME_FORMAT",  # 2:38 a. m.
    "short": "SHORT_DATETIME_FORMAT",  # 30/11/2026 2:38 a. m. (tables)
    "short_date": "SHORT_DATE_FORMAT",  # 30/11/2026
}

# Django's own msgids, listed so that this project's catalog translates them: its Spanish
# catalog capitalises month names ("Noviembre") and writes "a.m."; Spanish writes "noviembre"
# and "a. m.". This project's catalog takes precedence over Django's (LOCALE_PATHS).
DJANGO_MSGIDS = (
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
    gettext_noop("a.m."),
    gettext_noop("p.m."),
)


def in_colombia(value: datetime) -> datetime:
    """Return `value` in Colombia time (settings.TIME_ZONE); a naive value is taken as UTC."""
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return timezone.localtime(value, timezone.get_default_timezone())


def format_datetime(value: datetime | None, style: str = "datetime") -> str:
    """Return `value` in Colombia time, written in the active language's `style`; "" for None
    or an unknown style."""
    if value is None or style not in FORMATS:
        return ""
    return formats.date_format(in_colombia(value), FORMATS[style])
