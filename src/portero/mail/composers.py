"""Which function composes the body of each kind of e-mail, at send time.

One row per `EmailKind` (a test fails if a kind has none). The composers live with the
journeys that queue their messages; they import `mail.composing`, never this table.
"""

from __future__ import annotations

from portero.accounts.emails import compose_new_device
from portero.factors.emails import compose_assisted_recovery, compose_factor_changed
from portero.mail.composing import Composer
from portero.mail.models import EmailKind
from portero.organizations.emails import compose_membership_changed, compose_membership_requested
from portero.recovery.emails import (
    compose_password_changed,
    compose_reset,
    compose_username_reminder,
)

COMPOSERS: dict[str, Composer] = {
    EmailKind.PASSWORD_RESET: compose_reset,
    EmailKind.ACCOUNT_ACTIVATION: compose_reset,
    EmailKind.USERNAME_REMINDER: compose_username_reminder,
    EmailKind.PASSWORD_CHANGED: compose_password_changed,
    EmailKind.NEW_DEVICE_SIGN_IN: compose_new_device,
    EmailKind.FACTOR_CHANGED: compose_factor_changed,
    EmailKind.MEMBERSHIP_CHANGED: compose_membership_changed,
    EmailKind.MEMBERSHIP_REQUESTED: compose_membership_requested,
    EmailKind.ASSISTED_RECOVERY: compose_assisted_recovery,
}
