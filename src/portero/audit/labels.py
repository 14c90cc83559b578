"""How events read in a person's own history (Mi cuenta > Historial de accesos)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portero.audit.events import EventType
from portero.core.context import helpdesk_name

LABELS: dict[str, Promise] = {
    EventType.SIGN_IN_OK: _("Signed in"),
    EventType.SIGN_IN_FAILED: _("Failed sign-in"),
    EventType.SIGN_IN_THROTTLED: _("Sign-in refused: too many attempts"),
    EventType.SIGN_IN_LOCKED: _("Sign-in refused: account locked"),
    EventType.SIGN_OUT: _("Signed out"),
    EventType.RESET_ISSUED: _("Recovery e-mail prepared"),
    EventType.RESET_LINK_OPENED: _("Recovery link opened"),
    EventType.RESET_LINK_REJECTED: _("Dead recovery link opened"),
    EventType.RESET_CODE_ACCEPTED: _("Recovery code accepted"),
    EventType.RESET_CODE_REJECTED: _("Wrong recovery code"),
    EventType.RESET_COMPLETED: _("Password recovered"),
    EventType.USERNAME_REMINDER_ISSUED: _("Username reminder prepared"),
    EventType.PASSWORD_CHANGED: _("Password changed"),
    EventType.MAIL_SENT: _("E-mail sent"),
    EventType.MAIL_FAILED: _("E-mail could not be delivered"),
    EventType.SESSIONS_ENDED: _("Other sessions closed"),
    EventType.NOTIFICATIONS_CHANGED: _("Notification settings changed"),
    EventType.LANGUAGE_CHANGED: _("Language changed"),
    EventType.ACCOUNT_CREATED: _("Account created"),
    EventType.ACCOUNT_UPDATED: _("Account details changed"),
    EventType.ACCOUNT_ROLE_GRANTED: _("Role granted"),
    EventType.HELPDESK_RESET_SENT: _("The %(helpdesk)s sent a recovery e-mail"),
    EventType.HELPDESK_EMAIL_RESENT: _("The %(helpdesk)s sent an e-mail again"),
    EventType.HELPDESK_REMINDER_SENT: _("The %(helpdesk)s sent the username reminder"),
    EventType.HELPDESK_UNLOCKED: _("The %(helpdesk)s lifted sign-in throttling"),
    EventType.HELPDESK_SESSIONS_ENDED: _("The %(helpdesk)s closed your sessions"),
    EventType.HELPDESK_DISABLED: _("The %(helpdesk)s disabled the account"),
    EventType.HELPDESK_ENABLED: _("The %(helpdesk)s enabled the account"),
    EventType.SIGN_IN_PASSWORD_OK: _("Password accepted; second factor asked for"),
    EventType.FACTOR_ADDED: _("Second factor added"),
    EventType.FACTOR_REMOVED: _("Second factor removed"),
    EventType.FACTOR_REJECTED: _("Wrong second-factor code or passkey"),
    EventType.FACTOR_THROTTLED: _("Second factor refused: too many attempts"),
    EventType.BACKUP_CODES_GENERATED: _("New backup codes made"),
    EventType.BACKUP_CODE_USED: _("Backup code used"),
    EventType.STEP_UP_OK: _("Second factor given again"),
    EventType.ASSISTED_RECOVERY_STARTED: _("The %(helpdesk)s started an assisted recovery"),
    EventType.ASSISTED_RECOVERY_CANCELLED: _("Assisted recovery cancelled"),
    EventType.ASSISTED_RECOVERY_COMPLETED: _("Assisted recovery completed: second factors removed"),
    EventType.TOKEN_ISSUED: _("Signed in to %(client_name)s"),
    EventType.CONSENT_GRANTED: _("Allowed %(client_name)s to use your account"),
    EventType.APPLICATION_REVOKED: _("Took access back from %(client_name)s"),
    EventType.ORGANIZATION_REGISTERED: _("Registered an organization"),
    EventType.ORGANIZATION_CHOSEN: _("Chose the organization to act for"),
    EventType.MEMBERSHIP_CHANGED: _("Access to an organization changed"),
    EventType.MEMBERSHIP_ROLE_CHANGED: _("Role in an organization changed"),
}

# Events whose label depends on what happened: (event, details["action"]).
ACTION_LABELS: dict[tuple[str, str], Promise] = {
    (EventType.MEMBERSHIP_CHANGED, "request"): _("Asked for access to an organization"),
    (EventType.MEMBERSHIP_CHANGED, "accept"): _("Access to an organization accepted"),
    (EventType.MEMBERSHIP_CHANGED, "reject"): _("Request for access to an organization rejected"),
    (EventType.MEMBERSHIP_CHANGED, "cancel"): _("Access to an organization cancelled"),
    (EventType.MEMBERSHIP_CHANGED, "revert_rejection"): _(
        "Rejected request for access to an organization pending again"
    ),
    (EventType.MEMBERSHIP_CHANGED, "register"): _("Became administrator of an organization"),
    (EventType.MEMBERSHIP_CHANGED, "import"): _("Access to an organization granted by import"),
}

# Events a person's own history shows (the help desk viewing an account is not one of them).
HISTORY_EVENTS = [
    str(event)
    for event in LABELS
    if event
    not in {EventType.MAIL_SENT, EventType.RESET_ISSUED, EventType.USERNAME_REMINDER_ISSUED}
]


def event_label(event: str, details: dict[str, object] | None = None) -> str:
    """Return the human label of an event name, with the details it names (a portal) and
    the help desk's name in the active language."""
    label = ACTION_LABELS.get((event, str((details or {}).get("action", "")))) or LABELS.get(event)
    if label is None:
        return event
    try:
        return str(label) % {
            "helpdesk": helpdesk_name(),
            **{k: str(v) for k, v in (details or {}).items()},
        }
    except (KeyError, TypeError, ValueError):  # a label without placeholders, or one missing
        return str(label) if "%(" not in str(label) else event
