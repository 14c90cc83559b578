"""Help-desk actions. None shows, sets or e-mails a password; each needs a reason and is
recorded in the audit trail with the agent, the reason and the target, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portero.accounts.models import User
from portero.accounts.services import sessions_end, user_set_active
from portero.accounts.throttle import throttle_clear
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock
from portero.core.client import ClientInfo
from portero.core.security_log import mask_email
from portero.federation.logout import logout_requeue
from portero.federation.models import LogoutDelivery
from portero.helpdesk.models import ActionReceipt
from portero.helpdesk.roles import Role, may_act_on, role_of
from portero.mail.models import EmailStatus, OutboundEmail
from portero.mail.services import email_requeue
from portero.recovery.services import (
    RecoveryRefused,
    reset_issue,
    resets_cancel,
    username_reminder_queue,
)
from portero.recovery.states import LinkState, reset_state


class ActionRefused(Exception):
    """The action cannot be done; the message says why, for the agent."""


@dataclass(frozen=True)
class AccountAction:
    """Something the console does to an account (the memberships' are MembershipAction)."""

    name: str
    label: str | Promise
    event: EventType
    minimum_role: Role
    handler: Callable[[User], dict[str, Any]]  # does it; returns details for the audit row
    done: str | Promise  # what the agent is told once it is done


def _send_reset(target: User) -> dict[str, Any]:
    return {"reset": reset_issue(user=target).pk}


def _send_reminder(target: User) -> dict[str, Any]:
    email = username_reminder_queue(user=target, language=target.preferred_language())
    return {"email": email.pk}


def _unlock(target: User) -> dict[str, Any]:
    throttle_clear(target.username)
    return {}


def _end_sessions(target: User) -> dict[str, Any]:
    return {"sessions_ended": sessions_end(user=target, reason="helpdesk")}


def _set_active(active: bool) -> Callable[[User], dict[str, Any]]:
    def apply(target: User) -> dict[str, Any]:
        ended = user_set_active(user=target, active=active)
        if active:
            return {}
        return {"sessions_ended": ended, "links_ended": resets_cancel(user=target)}

    return apply


ACCOUNT_ACTIONS = {
    action.name: action
    for action in [
        AccountAction(
            "send_reset",
            _("Send a new recovery e-mail"),
            EventType.HELPDESK_RESET_SENT,
            Role.AGENT,
            _send_reset,
            _("A new recovery e-mail was queued."),
        ),
        AccountAction(
            "send_reminder",
            _("Send the username reminder"),
            EventType.HELPDESK_REMINDER_SENT,
            Role.AGENT,
            _send_reminder,
            _("The username reminder was queued."),
        ),
        AccountAction(
            "unlock",
            _("Lift sign-in throttling"),
            EventType.HELPDESK_UNLOCKED,
            Role.AGENT,
            _unlock,
            _("Sign-in throttling was lifted."),
        ),
        AccountAction(
            "end_sessions",
            _("End all sessions"),
            EventType.HELPDESK_SESSIONS_ENDED,
            Role.AGENT,
            _end_sessions,
            _("All sessions were ended, at the portals too."),
        ),
        AccountAction(
            "disable",
            _("Disable the account"),
            EventType.HELPDESK_DISABLED,
            Role.SUPERVISOR,
            _set_active(False),
            _("The account was disabled."),
        ),
        AccountAction(
            "enable",
            _("Enable the account"),
            EventType.HELPDESK_ENABLED,
            Role.SUPERVISOR,
            _set_active(True),
            _("The account was enabled."),
        ),
    ]
}


def allowed_actions(agent: User, target: User) -> list[AccountAction]:
    """Return the actions `agent` may take on `target`."""
    if not may_act_on(agent, target):
        return []
    mine = role_of(agent)
    return [action for action in ACCOUNT_ACTIONS.values() if mine >= action.minimum_role]


@transaction.atomic
def helpdesk_act(
    *, agent: User, target: User, action: str, reason: str, token: str, client: ClientInfo
) -> bool:
    """Carry out `action` once per form `token`; return False if that form was already used."""
    chosen = ACCOUNT_ACTIONS.get(action)
    if chosen is None or chosen not in allowed_actions(agent, target):
        raise ActionRefused(_("You may not do that on this account."))
    reason = _reason(reason)
    try:
        with transaction.atomic():
            ActionReceipt.objects.create(token=token, agent=agent, action=action, target=target)
    except IntegrityError:
        return False  # a double click: the first submission did it
    try:
        details = chosen.handler(target)
    except RecoveryRefused as refusal:  # the recovery services' own checks, in the console's words
        raise ActionRefused(str(refusal)) from refusal
    event_record(
        chosen.event,
        user=target,
        actor=f"agent:{agent.pk}",
        client=client,
        subject=f"user:{target.pk}",
        reason=reason,
        **details,
    )
    return True


@transaction.atomic
def helpdesk_resend(
    *, agent: User, email_ids: list[int], reason: str, client: ClientInfo
) -> tuple[int, list[str]]:
    """Queue failed or retrying messages for an immediate new attempt; return how many, and
    why the others were not."""
    if role_of(agent) < Role.AGENT:
        raise ActionRefused(_("You may not do that on this account."))
    reason = _reason(reason)
    now, done, skipped = clock.now(), 0, []
    emails = OutboundEmail.objects.select_related("reset__user", "user").filter(pk__in=email_ids)
    for email in emails:
        why_not = _why_not_resend(agent, email, now)
        if why_not:
            skipped.append(f"#{email.pk}: {why_not}")
            continue
        email_requeue(email=email, now=now)
        event_record(
            EventType.HELPDESK_EMAIL_RESENT,
            user=email.user,
            actor=f"agent:{agent.pk}",
            client=client,
            subject=f"email:{email.pk}",
            reason=reason,
        )
        done += 1
    return done, skipped


def _reason(reason: str) -> str:
    """Return the agent's reason as recorded, or refuse an empty one."""
    if not reason.strip():
        raise ActionRefused(_("Write the reason or the ticket number."))
    return reason.strip()[:200]


def _why_not_resend(agent: User, email: OutboundEmail, now: datetime) -> str:
    if email.status not in {EmailStatus.FAILED, EmailStatus.RETRYING}:
        return str(_("only failed or retrying messages can be sent again"))
    if email.user is not None and not may_act_on(agent, email.user):
        return str(_("you may not act on this account"))
    if email.reset is not None and reset_state(email.reset, now) != LinkState.VALID:
        return str(_("its link no longer works: send a new recovery e-mail instead"))
    return ""


@transaction.atomic
def helpdesk_logout_resend(
    *, agent: User, target: User, delivery_id: int, reason: str, client: ClientInfo
) -> bool:
    """Try a failed or retrying sign-out to a portal again now; False if it no longer needs
    it (delivered meanwhile, or already queued)."""
    if not may_act_on(agent, target):
        raise ActionRefused(_("You may not do that on this account."))
    reason = _reason(reason)
    delivery = LogoutDelivery.objects.filter(pk=delivery_id, user=target).first()
    if delivery is None or not logout_requeue(delivery=delivery):
        return False
    event_record(
        EventType.HELPDESK_LOGOUT_RESENT,
        user=target,
        actor=f"agent:{agent.pk}",
        client=client,
        subject=f"logout:{delivery.pk}",
        reason=reason,
    )
    return True


def helpdesk_refusal_record(
    *, agent: User, target: User | None, action: str, why: str, client: ClientInfo
) -> None:
    """Record an action the console refused (not allowed, on oneself, unknown, no reason):
    the attempt itself is what an investigation looks for (LG1)."""
    event_record(
        EventType.HELPDESK_REFUSED,
        outcome="refused",
        user=target,
        actor=f"agent:{agent.pk}",
        client=client,
        subject=f"user:{target.pk}" if target else "",
        action=action[:40],
        why=why,
    )


def helpdesk_search_record(
    *, agent: User, query: str, found: int, client: ClientInfo, organizations: int | None = None
) -> None:
    """Record a console search: who searched, how many accounts (and organizations) it found,
    and the query masked as e-mails are in every log (LG2). The accounts then opened are
    recorded by name."""
    masked = mask_email(query) if "@" in query else f"{query[:1]}***"
    extra: dict[str, Any] = {} if organizations is None else {"organizations": organizations}
    event_record(
        EventType.HELPDESK_SEARCHED,
        actor=f"agent:{agent.pk}",
        client=client,
        subject="accounts",
        query=masked,
        query_length=len(query),
        found=found,
        **extra,
    )
