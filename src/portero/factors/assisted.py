"""Assisted recovery (MF4): the Mesa de Servicio's way back for a person who lost every factor.

    pending --(the owner's "No fui yo" link, or a supervisor)--> cancelled
    pending --(the worker, PORTERO_ASSISTED_RECOVERY_HOURS after the start)--> completed

A supervisor starts it with a written reason; the account's address is told at once, with a
link that cancels it. Each move out of `pending` is one conditional UPDATE, so of a cancel and
a completion racing each other (or two workers) exactly one wins, and only the winner acts.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from portero.accounts.models import User
from portero.accounts.services import sessions_end
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock
from portero.core.client import ClientInfo
from portero.factors.models import (
    AssistedRecovery,
    AssistedRecoveryState,
    AuthenticatorApp,
    BackupCode,
    Passkey,
)
from portero.factors.selectors import has_factor
from portero.helpdesk.roles import Role, may_act_on, role_of
from portero.mail.models import EmailKind
from portero.mail.services import email_queue
from portero.recovery.tokens import link_token, new_selector, selector_from_token

REASON_MIN = 10  # a written reason, not a ticket number alone
REASON_MAX = 500
CANCEL_REASON_MAX = 200  # a supervisor's reason to cancel: a ticket number or a line
_CANCEL_SALT = "portero.factors.assisted_cancel"
PENDING = AssistedRecoveryState.PENDING


class AssistedRefused(Exception):
    """The assisted recovery cannot be started or cancelled; the message says why."""


# --- The cancel link: a selector kept in the row, its verifier derived from the server key --


def cancel_token(recovery: AssistedRecovery) -> str:
    """Return the secret of `recovery`'s cancel link (never stored: derived at send time)."""
    return link_token(recovery.selector, salt=_CANCEL_SALT)


def recovery_by_token(token: str) -> AssistedRecovery | None:
    """Return the assisted recovery a cancel link names, or None; changes nothing (a GET)."""
    selector = selector_from_token(token, salt=_CANCEL_SALT)
    if selector is None:
        return None
    return AssistedRecovery.objects.select_related("user").filter(selector=selector).first()


# --- Who may, and with what reason -------------------------------------------------------


def may_start(agent: User, target: User) -> bool:
    """Supervisors and administrators, never on themselves nor on an equal or higher rank."""
    return role_of(agent) >= Role.SUPERVISOR and may_act_on(agent, target)


def _reason(reason: str) -> str:
    """Return the supervisor's reason as recorded, or refuse one too short to say anything."""
    text = " ".join(reason.split())
    if len(text) < REASON_MIN:
        raise AssistedRefused(
            _(
                "Write the reason: how the person's identity was checked and "
                "why (at least %(count)d characters)."
            )
            % {"count": REASON_MIN}
        )
    return text[:REASON_MAX]


def _refuse_start(agent: User, target: User) -> None:
    if not may_start(agent, target):
        raise AssistedRefused(
            _(
                "Only a supervisor may start an assisted recovery, and not on "
                "their own account or on staff of their rank or above."
            )
        )
    if not target.is_active:
        raise AssistedRefused(_("The account is disabled; enable it first."))
    if not target.email:
        raise AssistedRefused(
            _(
                "The account has no e-mail address: its owner could not be "
                "told, so an assisted recovery cannot start."
            )
        )
    if not has_factor(target):
        raise AssistedRefused(
            _("The account has no second factor: a recovery e-mail is enough to get back in.")
        )


# --- The moves ---------------------------------------------------------------------------


@transaction.atomic
def assisted_recovery_start(
    *, agent: User, target: User, reason: str, client: ClientInfo
) -> AssistedRecovery:
    """Start an assisted recovery of `target`, record it and tell the account's address."""
    _refuse_start(agent, target)
    reason = _reason(reason)
    now = clock.now()
    try:
        with transaction.atomic():
            recovery = AssistedRecovery.objects.create(
                user=target,
                started_by=agent,
                reason=reason,
                started_at=now,
                selector=new_selector(),
                due_at=now + timedelta(hours=settings.PORTERO_ASSISTED_RECOVERY_HOURS),
            )
    except IntegrityError:  # one pending per account (a double click, or a colleague)
        raise AssistedRefused(
            _("An assisted recovery is already waiting for this account.")
        ) from None
    event_record(
        EventType.ASSISTED_RECOVERY_STARTED,
        user=target,
        actor=f"agent:{agent.pk}",
        client=client,
        subject=f"user:{target.pk}",
        reason=reason,
        recovery=recovery.pk,
        due_at=recovery.due_at.isoformat(),
    )
    # Tried until the recovery is due: past that, the notice would come too late to help.
    email_queue(
        kind=EmailKind.ASSISTED_RECOVERY,
        to_address=target.email,
        language=target.preferred_language(),
        user=target,
        context={"recovery": recovery.pk},
        give_up_at=recovery.due_at,
    )
    return recovery


def _cancel(recovery: AssistedRecovery, *, by: str, client: ClientInfo, **details: str) -> bool:
    """Move `recovery` from pending to cancelled, if nothing else moved it first."""
    now = clock.now()
    won = AssistedRecovery.objects.filter(pk=recovery.pk, state=PENDING).update(
        state=AssistedRecoveryState.CANCELLED, cancelled_at=now, cancelled_by=by
    )
    if won:
        actor = by if by.startswith("agent:") else f"user:{recovery.user_id}"
        event_record(
            EventType.ASSISTED_RECOVERY_CANCELLED,
            user=recovery.user,
            actor=actor,
            client=client,
            subject=f"user:{recovery.user_id}",
            recovery=recovery.pk,
            by=by,
            **details,
        )
    recovery.refresh_from_db()
    return bool(won)


@transaction.atomic
def assisted_recovery_cancel_by_owner(
    *, token: str, client: ClientInfo
) -> tuple[AssistedRecovery | None, bool]:
    """The e-mail's "No fui yo": return the recovery (None for a bad link) and whether this
    click cancelled it (False: it was already cancelled or completed)."""
    recovery = recovery_by_token(token)
    if recovery is None:
        event_record(
            EventType.ASSISTED_RECOVERY_LINK_REJECTED,
            outcome="refused",
            actor="anonymous",
            client=client,
            subject="assisted_recovery",
        )
        return None, False
    return recovery, _cancel(recovery, by="owner", client=client)


@transaction.atomic
def assisted_recovery_cancel(*, agent: User, target: User, reason: str, client: ClientInfo) -> bool:
    """A supervisor cancels `target`'s waiting assisted recovery; False if none was waiting."""
    if not may_start(agent, target):
        raise AssistedRefused(
            _(
                "Only a supervisor may cancel an assisted recovery, and not on "
                "their own account or on staff of their rank or above."
            )
        )
    reason = " ".join(reason.split())[:CANCEL_REASON_MAX]
    if not reason:
        raise AssistedRefused(_("Write the reason or the ticket number."))
    recovery = AssistedRecovery.objects.filter(user=target, state=PENDING).first()
    if recovery is None:
        return False
    return _cancel(recovery, by=f"agent:{agent.pk}", client=client, reason=reason)


@transaction.atomic
def assisted_recovery_complete(*, recovery_id: int) -> bool:
    """Complete a due assisted recovery: remove every factor, end the sessions (portals too),
    record it, tell the address, and ask for a new factor at the next sign-in. False if it
    was not pending and due (cancelled, or another worker completed it first)."""
    now = clock.now()
    won = AssistedRecovery.objects.filter(pk=recovery_id, state=PENDING, due_at__lte=now).update(
        state=AssistedRecoveryState.COMPLETED, completed_at=now, enrolment_pending=True
    )
    if not won:
        return False
    recovery = AssistedRecovery.objects.select_related("user").get(pk=recovery_id)
    user = recovery.user
    removed = _factors_remove_all(user)
    ended = sessions_end(user=user, reason="assisted_recovery")
    event_record(
        EventType.ASSISTED_RECOVERY_COMPLETED,
        user=user,
        actor="system",
        subject=f"user:{user.pk}",
        recovery=recovery.pk,
        started_by=f"agent:{recovery.started_by_id}",
        sessions_ended=ended,
        removed=removed,
    )
    if user.email:
        email_queue(
            kind=EmailKind.FACTOR_CHANGED,
            to_address=user.email,
            language=user.preferred_language(),
            user=user,
            context={"change": "factors_reset", "at": now.isoformat(), "ip": ""},
        )
    return True


def _factors_remove_all(user: User) -> dict[str, int]:
    """Delete every factor of `user`, recording each removal; return how many of each went."""
    apps, _ = AuthenticatorApp.objects.filter(user=user).delete()
    passkeys = list(Passkey.objects.filter(user=user).values_list("pk", "name"))
    Passkey.objects.filter(user=user).delete()
    codes, _ = BackupCode.objects.filter(user=user).delete()
    if apps:
        event_record(
            EventType.FACTOR_REMOVED,
            user=user,
            actor="system",
            method="totp",
            via="assisted_recovery",
        )
    for pk, name in passkeys:
        event_record(
            EventType.FACTOR_REMOVED,
            user=user,
            actor="system",
            method="passkey",
            passkey=pk,
            name=name,
            via="assisted_recovery",
        )
    return {"authenticator_apps": apps, "passkeys": len(passkeys), "backup_codes": codes}


# --- The next sign-in asks for a new factor ----------------------------------------------


def enrolment_asked(user: User) -> bool:
    """True when a completed assisted recovery still waits for the person's new factor."""
    return AssistedRecovery.objects.filter(user=user, enrolment_pending=True).exists()


def enrolment_done(*, user: User) -> None:
    """The person has a factor again: stop asking."""
    AssistedRecovery.objects.filter(user=user, enrolment_pending=True).update(
        enrolment_pending=False
    )
