"""How recovery e-mails are composed at send time (the link is derived, never stored)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from portero.core import clock
from portero.mail.composing import Composed, NotNeeded, absolute_url
from portero.mail.models import EmailKind, OutboundEmail
from portero.organizations.selectors import organizations_by_username
from portero.recovery.selectors import usernames_for_email
from portero.recovery.states import LinkState, reset_state
from portero.recovery.tokens import link_token, reset_code


def reset_link(selector: str) -> str:
    """Return the absolute link for a reset, built from PORTERO_BASE_URL only (TK2)."""
    return absolute_url("recovery:open_link", token=link_token(selector))


def compose_reset(email: OutboundEmail) -> Composed:
    reset = email.reset
    if reset is None:
        raise NotNeeded("the reset was deleted")
    state = reset_state(reset, clock.now())
    if state != LinkState.VALID:
        raise NotNeeded(f"the link is {state} already")
    template = "password_reset" if email.kind == EmailKind.PASSWORD_RESET else "account_activation"
    return Composed(
        template,
        {
            "username": reset.user.username,
            "full_name": reset.user.full_name,
            "link": reset_link(reset.selector),
            "code": " ".join(_halves(reset_code(reset.selector))),
            "code_url": absolute_url("recovery:enter_code"),
            "ttl_minutes": settings.PORTERO_RESET_TTL_MINUTES,
            "expires_at": reset.expires_at,
            "forgot_password_url": absolute_url("recovery:forgot_password"),
        },
    )


def _halves(code: str) -> tuple[str, str]:
    middle = len(code) // 2
    return code[:middle], code[middle:]


def compose_username_reminder(email: OutboundEmail) -> Composed:
    usernames = usernames_for_email(email.to_address)
    if not usernames:
        raise NotNeeded("no active account uses this address any more")
    acting = organizations_by_username(usernames)  # which username for which company
    return Composed(
        "username_reminder",
        {
            "usernames": usernames,
            "accounts": [(username, acting.get(username, [])) for username in usernames],
            "sign_in_url": absolute_url("accounts:sign_in"),
            "forgot_password_url": absolute_url("recovery:forgot_password"),
        },
    )


def compose_password_changed(email: OutboundEmail) -> Composed:
    user = email.user
    return Composed(
        "password_changed",
        {
            "username": user.username if user else "",
            "changed_at": datetime.fromisoformat(email.context["changed_at"]),
            "ip": email.context.get("ip", ""),
            "device": email.context.get("device", ""),
            "via": email.context.get("via", ""),
            "sessions_ended": email.context.get("sessions_ended", 0),
            "forgot_password_url": absolute_url("recovery:forgot_password"),
        },
    )
