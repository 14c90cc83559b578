"""Forgot password, one function per phase: request, process (worker), open link or enter code,
complete. See docs/recovery-states.md."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Lower

from portero.accounts.models import User
from portero.accounts.rules import normalize_username
from portero.accounts.services import PasswordVia, user_email_verified, user_set_password
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock, ratelimit
from portero.core.client import ClientInfo
from portero.factors.selectors import has_factor
from portero.recovery.issuing import Issue
from portero.recovery.models import (
    PasswordReset,
    RecoveryRequest,
    RequestKind,
    RequestOutcome,
    ResetPurpose,
)
from portero.recovery.services import recovery_request_record, reset_prepare
from portero.recovery.states import LinkState, reset_state
from portero.recovery.tokens import (
    code_matches,
    normalize_code,
    selector_from_token,
)


@dataclass(frozen=True)
class ResetCheck:
    """What a reset allows now, however it was reached (link, code or the session's selector)."""

    state: LinkState
    reset: PasswordReset | None = None
    completed: bool = False  # True only for the one submission that used the link


def request_password_reset(*, username: str, client: ClientInfo) -> None:
    """Record the request (rate limits first); the worker looks the account up later (FR1)."""
    recovery_request_record(
        kind=RequestKind.PASSWORD,
        typed=username,
        normalized=normalize_username(username),
        client=client,
    )


def accounts_by_username(requests: list[RecoveryRequest]) -> dict[str, User]:
    """Return the accounts the password `requests` name, by normalized username (one query)."""
    names = {normalize_username(r.identifier) for r in requests}
    # Keyed as the database compares (LOWER), exactly as a look-up of one name would match.
    found = User.objects.annotate(key=Lower("username")).filter(key__in=names)
    return {user.key: user for user in found}


def process_password_request(
    request: RecoveryRequest, accounts: dict[str, User], issues: list[Issue]
) -> RequestOutcome:
    """Prepare a reset and its e-mail (added to `issues`) if the username names a reachable
    account; `accounts` comes from `accounts_by_username`."""
    user = accounts.get(normalize_username(request.identifier))
    if user is None:
        return RequestOutcome.NO_ACCOUNT
    request.user = user
    if not user.is_active:
        return RequestOutcome.ACCOUNT_DISABLED
    if not user.email:
        return RequestOutcome.NO_EMAIL
    issues.append(reset_prepare(user=user, request=request))
    return RequestOutcome.EMAIL_QUEUED


def check_reset_token(token: str) -> ResetCheck:
    """Return what a link's `token` allows now, without changing anything."""
    selector = selector_from_token(token)
    return check_reset_selector(selector) if selector else ResetCheck(LinkState.UNKNOWN)


def check_reset_selector(selector: str) -> ResetCheck:
    """Return what the reset with `selector` allows now (the caller proved the token before)."""
    reset = PasswordReset.objects.select_related("user").filter(selector=selector).first()
    return ResetCheck(reset_state(reset, clock.now()), reset)


def open_reset_link(*, token: str, client: ClientInfo) -> ResetCheck:
    """Check a link and note its first opening; opening never uses it up (TK3)."""
    check = check_reset_token(token)
    reset = check.reset
    if check.state == LinkState.VALID and reset and reset.opened_at is None:
        PasswordReset.objects.filter(pk=reset.pk, opened_at__isnull=True).update(
            opened_at=clock.now()
        )
    opened = check.state == LinkState.VALID
    event_record(
        EventType.RESET_LINK_OPENED if opened else EventType.RESET_LINK_REJECTED,
        outcome="ok" if opened else check.state,
        actor="anonymous",
        client=client,
        user=reset.user if reset else None,
        subject=f"reset:{reset.pk}" if reset else "",
    )
    return check


@transaction.atomic
def redeem_code(*, username: str, code: str, client: ClientInfo) -> ResetCheck:
    """Return the valid reset whose one-time code the user typed, or UNKNOWN (TK7).

    Guesses are limited per typed username and address; every wrong code counts against each
    live code of that account, and PORTERO_CODE_MAX_ATTEMPTS wrong codes kill a code.
    """
    normalized, digits = normalize_username(username), normalize_code(code)
    if ratelimit.hit("code_guess", account=normalized, ip=client.ip):
        event_record(
            EventType.RESET_CODE_REJECTED, outcome="throttled", actor="anonymous", client=client
        )
        return ResetCheck(LinkState.UNKNOWN)
    now = clock.now()
    live = (
        PasswordReset.objects.select_related("user")
        .filter(
            user__username__lower=normalized,
            used_at__isnull=True,
            expires_at__gt=now,
            code_failures__lt=settings.PORTERO_CODE_MAX_ATTEMPTS,
        )
        .order_by("-created_at")
    )
    candidates = [r for r in live if reset_state(r, now) == LinkState.VALID]
    match = next((r for r in candidates if code_matches(r.selector, digits)), None)
    if match is None:
        PasswordReset.objects.filter(pk__in=[r.pk for r in candidates]).update(
            code_failures=F("code_failures") + 1
        )
        event_record(
            EventType.RESET_CODE_REJECTED,
            outcome="wrong_code",
            actor="anonymous",
            client=client,
            user=candidates[0].user if candidates else None,
        )
        return ResetCheck(LinkState.UNKNOWN)
    event_record(
        EventType.RESET_CODE_ACCEPTED,
        actor="anonymous",
        client=client,
        user=match.user,
        subject=f"reset:{match.pk}",
    )
    return ResetCheck(LinkState.VALID, match)


class SecondFactorRequired(Exception):
    """The account has a second factor and none was given for this reset (MF3, FC5)."""


@transaction.atomic
def complete_password_reset(
    *, selector: str, password: str, client: ClientInfo, second_factor: bool = False
) -> ResetCheck:
    """Use a proven link or code once to set `password` (already validated); return its state.

    The conditional update makes redemption atomic: of concurrent submissions exactly one
    finds the row unused (TK6). The reset never signs the user in (FC2). With a second factor
    on the account, the caller must have checked it (`second_factor`): the e-mail alone never
    sets a password (MF3, FC5).
    """
    check = check_reset_selector(selector)
    if check.state != LinkState.VALID or check.reset is None:
        return check
    if not second_factor and has_factor(check.reset.user):
        raise SecondFactorRequired
    now = clock.now()
    claimed = PasswordReset.objects.filter(
        pk=check.reset.pk, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if not claimed:
        return check_reset_selector(selector)
    via: PasswordVia = "activation" if check.reset.purpose == ResetPurpose.ACTIVATION else "reset"
    user_set_password(user=check.reset.user, password=password, client=client, via=via)
    user_email_verified(
        user=check.reset.user,
        address=check.reset.emails.order_by("-pk").values_list("to_address", flat=True).first()
        or "",
    )
    event_record(
        EventType.RESET_COMPLETED,
        user=check.reset.user,
        client=client,
        subject=f"reset:{check.reset.pk}",
    )
    return ResetCheck(LinkState.USED, check.reset, completed=True)


def request_new_link(*, selector: str, client: ClientInfo) -> bool:
    """Ask for a fresh e-mail for the account a proven link belonged to; False if unknown."""
    check = check_reset_selector(selector)
    if check.reset is None:
        return False
    request_password_reset(username=check.reset.user.username, client=client)
    return True
