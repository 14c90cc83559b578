"""Forgot username: request by e-mail address, processed by the worker."""

from __future__ import annotations

from django.db.models.functions import Lower

from portero.accounts.models import User
from portero.accounts.rules import normalize_email
from portero.audit.events import EventType
from portero.core.client import ClientInfo
from portero.mail.models import EmailKind
from portero.mail.services import email_new
from portero.recovery.issuing import Issue
from portero.recovery.models import RecoveryRequest, RequestKind, RequestOutcome
from portero.recovery.services import recovery_request_record


def request_username_reminder(*, email: str, client: ClientInfo) -> None:
    """Record the request (rate limits first); the worker looks the address up later (FU1)."""
    recovery_request_record(
        kind=RequestKind.USERNAME, typed=email, normalized=normalize_email(email), client=client
    )


def accounts_by_email(requests: list[RecoveryRequest]) -> dict[str, User]:
    """Return the oldest active account of each address the username `requests` name (one
    query), by normalized address."""
    addresses = {normalize_email(r.identifier) for r in requests}
    # Keyed as the database compares (LOWER), exactly as a look-up of one address would match.
    found = (
        User.objects.annotate(key=Lower("email"))
        .filter(key__in=addresses, is_active=True)
        .order_by("-pk")
    )
    return {user.key: user for user in found}  # the lowest pk comes last and wins


def process_username_request(
    request: RecoveryRequest, accounts: dict[str, User], issues: list[Issue]
) -> RequestOutcome:
    """Prepare one e-mail listing every username registered with the address (FU2), added
    to `issues`; `accounts` comes from `accounts_by_email`."""
    user = accounts.get(normalize_email(request.identifier))
    if user is None:
        return RequestOutcome.NO_ACCOUNT
    request.user = user
    email = email_new(
        kind=EmailKind.USERNAME_REMINDER,
        to_address=user.email,
        # The address, not an account, asked: it may hold several people's accounts, so the
        # page it was asked from decides, not the saved choice of whichever account is oldest.
        language=request.language or user.preferred_language(),
        user=user,
    )
    issues.append(Issue(EventType.USERNAME_REMINDER_ISSUED, user, email))
    return RequestOutcome.EMAIL_QUEUED
