"""Forgot password, one function per phase: request, process (worker), open link, complete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from portero.accounts.models import User, normalize_username
from portero.accounts.services import user_set_password
from portero.core import clock
from portero.core.client import ClientInfo
from portero.mail.models import EmailKind
from portero.mail.services import email_queue
from portero.recovery.models import (
    PasswordReset,
    RecoveryRequest,
    RequestKind,
    RequestOutcome,
    ResetPurpose,
)
from portero.recovery.states import LinkState, reset_state
from portero.recovery.tokens import identifier_digest, new_selector, selector_from_token


@dataclass(frozen=True)
class LinkCheck:
    state: LinkState
    reset: PasswordReset | None = None
    completed: bool = False  # True only for the one submission that used the link


def request_password_reset(*, username: str, client: ClientInfo) -> None:
    """Record the request; the account is looked up by the worker (FR1: same work for all)."""
    RecoveryRequest.objects.create(
        kind=RequestKind.PASSWORD,
        identifier=username.strip()[:254],
        identifier_digest=identifier_digest(normalize_username(username)),
        language=client.language, ip=client.ip, user_agent=client.user_agent,
        created_at=clock.now(),
    )


def process_password_request(request: RecoveryRequest) -> RequestOutcome:
    """Issue a reset and queue its e-mail if the username names a reachable account."""
    user = User.objects.filter(username__lower=normalize_username(request.identifier)).first()
    if user is None:
        return RequestOutcome.NO_ACCOUNT
    request.user = user
    if not user.is_active:
        return RequestOutcome.ACCOUNT_DISABLED
    if not user.email:
        return RequestOutcome.NO_EMAIL
    reset_issue(user=user, request=request)
    return RequestOutcome.EMAIL_QUEUED


def reset_issue(*, user: User, request: RecoveryRequest | None) -> PasswordReset:
    """Create a reset valid for the configured lifetime and queue the e-mail that carries it.

    Earlier resets stay valid (TK5: a new request never breaks an earlier e-mail).
    """
    created = request.created_at if request else clock.now()
    purpose = ResetPurpose.RESET if user.has_usable_password() else ResetPurpose.ACTIVATION
    reset = PasswordReset.objects.create(
        user=user, request=request, purpose=purpose, selector=new_selector(), created_at=created,
        expires_at=created + timedelta(minutes=settings.PORTERO_RESET_TTL_MINUTES),
    )
    activation = purpose == ResetPurpose.ACTIVATION
    kind = EmailKind.ACCOUNT_ACTIVATION if activation else EmailKind.PASSWORD_RESET
    email_queue(
        kind=kind, to_address=user.email, language=user.language, user=user, reset=reset,
        give_up_at=reset.expires_at,  # a link that arrives dead is no use: retry until then
    )
    return reset


def check_reset_token(token: str) -> LinkCheck:
    """Return what a link's `token` allows now, without changing anything."""
    selector = selector_from_token(token)
    return check_reset_selector(selector) if selector else LinkCheck(LinkState.UNKNOWN)


def check_reset_selector(selector: str) -> LinkCheck:
    """Return what the reset with `selector` allows now (the caller proved the token before)."""
    reset = PasswordReset.objects.select_related("user").filter(selector=selector).first()
    return LinkCheck(reset_state(reset, clock.now()), reset)


def open_reset_link(*, token: str) -> LinkCheck:
    """Check a link and note its first opening; opening never uses it up (TK3)."""
    check = check_reset_token(token)
    if check.state == LinkState.VALID and check.reset and check.reset.opened_at is None:
        PasswordReset.objects.filter(pk=check.reset.pk, opened_at__isnull=True).update(
            opened_at=clock.now()
        )
    return check


@transaction.atomic
def complete_password_reset(*, selector: str, password: str, client: ClientInfo) -> LinkCheck:
    """Use a proven link once to set `password` (already validated); return its state.

    The conditional update makes redemption atomic: of concurrent submissions exactly one
    finds the row unused (TK6). The reset never signs the user in (FC2).
    """
    check = check_reset_selector(selector)
    if check.state != LinkState.VALID or check.reset is None:
        return check
    now = clock.now()
    claimed = PasswordReset.objects.filter(
        pk=check.reset.pk, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if not claimed:
        return check_reset_selector(selector)
    via = "activation" if check.reset.purpose == ResetPurpose.ACTIVATION else "reset"
    user_set_password(user=check.reset.user, password=password, client=client, via=via)
    return LinkCheck(LinkState.USED, check.reset, completed=True)


def request_new_link(*, selector: str, client: ClientInfo) -> bool:
    """Ask for a fresh e-mail for the account a proven link belonged to; False if unknown."""
    check = check_reset_selector(selector)
    if check.reset is None:
        return False
    request_password_reset(username=check.reset.user.username, client=client)
    return True
