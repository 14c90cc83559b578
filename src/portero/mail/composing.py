"""What a composer works with: the function that turns an outbox row into a template and its
context, and the answers it can give (see `mail.composers` for which composes each kind)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.urls import reverse

from portero.mail.models import OutboundEmail


@dataclass(frozen=True)
class Composed:
    """What a composer decides: which templates, with what context."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


class NotNeeded(Exception):
    """Raised by a composer when the message no longer makes sense (say, its link is dead)."""


Composer = Callable[[OutboundEmail], Composed]


def absolute_url(name: str, **kwargs: str) -> str:
    """Return the public URL of view `name`, from PORTERO_BASE_URL only, never a request (TK2)."""
    return f"{settings.PORTERO_BASE_URL}{reverse(name, kwargs=kwargs or None)}"
