"""What processing a recovery request issues, prepared outside the write transaction and
written inside it in a few statements for a whole batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from portero.accounts.models import User
from portero.audit.events import EventType
from portero.audit.services import event_row_add
from portero.core import security_log
from portero.mail.models import OutboundEmail
from portero.recovery.models import PasswordReset


@dataclass
class Issue:
    """One e-mail to queue, the reset it carries (if any), and the audit event reporting it."""

    event: EventType
    user: User
    email: OutboundEmail
    reset: PasswordReset | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return f"reset:{self.reset.pk}" if self.reset else f"user:{self.user.pk}"


def issues_save(issues: list[Issue]) -> None:
    """Insert the resets, then the e-mails, in one statement each; add their audit rows.

    Call inside the write transaction (and an `appends_batched` block); the log lines are
    written after it commits (`issues_log`).
    """
    PasswordReset.objects.bulk_create([i.reset for i in issues if i.reset is not None])
    for issue in issues:
        issue.email.reset = issue.reset  # now with its id
    OutboundEmail.objects.bulk_create([i.email for i in issues])
    for issue in issues:
        event_row_add(
            issue.event,
            at=issue.email.created_at,
            request_id="",
            outcome="ok",
            actor="system",
            subject=issue.subject,
            ip=None,
            user=issue.user,
            **_details(issue),
        )


def issues_log(issues: list[Issue]) -> None:
    """Write the security log lines of issues that were saved (their rows say the same)."""
    for issue in issues:
        security_log.emit(
            issue.event.value,
            outcome="ok",
            actor="system",
            subject=issue.subject,
            at=issue.email.created_at,
            **_details(issue),
        )


def _details(issue: Issue) -> dict[str, Any]:
    return {"email": issue.email.pk, **issue.details}
