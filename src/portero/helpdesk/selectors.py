"""Read-only queries for the console. Nothing here returns a selector, token or code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from portero.accounts.models import User
from portero.accounts.throttle import ThrottleState, throttle_state
from portero.core import clock
from portero.mail.models import EmailStatus, OutboundEmail
from portero.recovery.models import RecoveryRequest
from portero.recovery.states import LinkState, reset_state

SEARCH_MIN = 2


def users_search(query: str) -> QuerySet[User]:
    """Accounts whose username, e-mail or full name contains `query`, ignoring case."""
    needle = query.strip().lower()
    return User.objects.filter(
        Q(username__lower__contains=needle) | Q(email__lower__contains=needle)
        | Q(full_name__lower__contains=needle)
    ).order_by("username")


@dataclass(frozen=True)
class EmailRow:
    email: OutboundEmail
    link_state: LinkState | None  # for messages that carry a recovery link


@dataclass(frozen=True)
class Overview:
    user: User
    throttle: ThrottleState
    requests: list[RecoveryRequest]
    emails: list[EmailRow]
    now: datetime


def user_overview(user: User, *, limit: int = 20) -> Overview:
    """Return what the console shows about `user`: status, recent requests and messages."""
    now = clock.now()
    emails = (OutboundEmail.objects.filter(user=user).select_related("reset__user")
              .order_by("-created_at", "-pk")[:limit])
    rows = [EmailRow(e, reset_state(e.reset, now) if e.reset else None) for e in emails]
    requests = list(RecoveryRequest.objects.filter(user=user).order_by("-created_at")[:limit])
    return Overview(user, throttle_state(user.username), requests, rows, now)


def emails_needing_attention() -> QuerySet[OutboundEmail]:
    """Failed and retrying messages across all accounts, oldest first."""
    return (OutboundEmail.objects.filter(status__in=[EmailStatus.FAILED, EmailStatus.RETRYING])
            .select_related("user", "reset").order_by("created_at"))
