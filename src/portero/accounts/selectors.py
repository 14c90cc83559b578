"""What a person may see about their own account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.models import Session

from portero.accounts.models import SessionRecord, User
from portero.audit.labels import HISTORY_EVENTS, event_label
from portero.core import clock
from portero.core.devices import describe_user_agent

HISTORY_SIZE = 50


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    label: str
    outcome: str
    device: str
    ip: str
    by_help_desk: bool


def history_of(user: User) -> list[HistoryRow]:
    """Return the latest HISTORY_SIZE security events of `user`, newest first."""
    events = user.audit_events.filter(event__in=HISTORY_EVENTS).order_by("-created_at", "-pk")
    return [
        HistoryRow(
            e.created_at,
            event_label(e.event, e.details),
            e.outcome,
            e.details.get("device", ""),
            e.ip or "",
            e.actor.startswith("agent:"),
        )
        for e in events[:HISTORY_SIZE]
    ]


@dataclass(frozen=True)
class SessionRow:
    started: datetime
    device: str
    ip: str
    current: bool


def sessions_of(user: User, *, current: str) -> list[SessionRow]:
    """Return the signed-in sessions of `user`, this one first."""
    rows = [
        SessionRow(
            r.created_at, describe_user_agent(r.user_agent), r.ip or "", r.session_key == current
        )
        for r in SessionRecord.objects.filter(user=user).order_by("-created_at")
    ]
    return sorted(rows, key=lambda row: not row.current)


def session_is_live(sid: str, *, signed_in_at: datetime) -> bool:
    """True while a signed-in session named `sid` exists and has not expired, idle or past
    its absolute lifetime (SE2), whether or not it has been purged yet."""
    now = clock.now()
    if not sid or signed_in_at <= now - timedelta(hours=settings.PORTERO_SESSION_MAX_HOURS):
        return False
    keys = SessionRecord.objects.filter(sid=sid).values("session_key")
    return Session.objects.filter(session_key__in=keys, expire_date__gt=now).exists()
