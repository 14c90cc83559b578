"""Every kind of security event, in one enum (LG1)."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    SIGN_IN_OK = "sign_in.ok"
    SIGN_IN_FAILED = "sign_in.failed"
    SIGN_IN_THROTTLED = "sign_in.throttled"
    SIGN_IN_LOCKED = "sign_in.locked"
    SIGN_OUT = "sign_out"
    RESET_REQUESTED = "reset.requested"
    RESET_ISSUED = "reset.issued"
    RESET_LINK_OPENED = "reset.link_opened"
    RESET_LINK_REJECTED = "reset.link_rejected"
    RESET_CODE_ACCEPTED = "reset.code_accepted"
    RESET_CODE_REJECTED = "reset.code_rejected"
    RESET_COMPLETED = "reset.completed"
    USERNAME_REMINDER_REQUESTED = "username_reminder.requested"
    USERNAME_REMINDER_ISSUED = "username_reminder.issued"
    PASSWORD_CHANGED = "password.changed"  # noqa: S105 (an event name)
    MAIL_SENT = "mail.sent"
    MAIL_RETRYING = "mail.retrying"
    MAIL_FAILED = "mail.failed"
    MAIL_CANCELLED = "mail.cancelled"
    SESSIONS_ENDED = "sessions.ended"
    ACCOUNT_CREATED = "account.created"
    ACCOUNT_UPDATED = "account.updated"
    ACCOUNT_ROLE_GRANTED = "account.role_granted"
    NOTIFICATIONS_CHANGED = "notifications.changed"
    CSRF_FAILED = "csrf.failed"
    HELPDESK_USER_VIEWED = "helpdesk.user_viewed"
    HELPDESK_RESET_SENT = "helpdesk.reset_sent"
    HELPDESK_EMAIL_RESENT = "helpdesk.email_resent"
    HELPDESK_REMINDER_SENT = "helpdesk.reminder_sent"
    HELPDESK_UNLOCKED = "helpdesk.unlocked"
    HELPDESK_SESSIONS_ENDED = "helpdesk.sessions_ended"
    HELPDESK_DISABLED = "helpdesk.disabled"
    HELPDESK_ENABLED = "helpdesk.enabled"
    HELPDESK_LOGOUT_RESENT = "helpdesk.logout_resent"
    TOKEN_ISSUED = "federation.token_issued"  # noqa: S105 (an event name)
    CODE_REPLAYED = "federation.code_replayed"
    CONSENT_GRANTED = "federation.consent_granted"
    APPLICATION_REVOKED = "federation.application_revoked"
    LOGOUT_DELIVERED = "federation.logout_delivered"
    LOGOUT_RETRYING = "federation.logout_retrying"
    LOGOUT_FAILED = "federation.logout_failed"
    CLIENT_ADDED = "federation.client_added"
    CLIENT_REMOVED = "federation.client_removed"
    CLIENT_SECRET_ROTATED = "federation.client_secret_rotated"  # noqa: S105
    KEYS_ROTATED = "federation.keys_rotated"
