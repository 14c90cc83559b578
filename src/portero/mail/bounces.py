"""Delivery-status notifications (RFC 3464): read them, and record what they say on the message
and the account (docs/mail.md, "Bounces").

A report is trusted only through the VERP address it was sent to (portero.mail.verp); nothing in
its body chooses the message. What cannot be read is dropped with a log line.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

from django.db.models import Exists, OuterRef

from portero.accounts.rules import normalize_email
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock
from portero.core.write_lock import write_transaction
from portero.mail.models import EmailStatus, OutboundEmail, UndeliverableAddress

log = logging.getLogger(__name__)

# RFC 3463: class.subject.detail; class 2 success, 4 persistent transient, 5 permanent.
_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# Actions (RFC 3464 2.3.3) that report a delivery problem; "delivered", "relayed" and
# "expanded" do not.
PROBLEMS = {"failed", "delayed"}


@dataclass(frozen=True)
class DeliveryReport:
    """What one notification says about the one recipient of a message."""

    action: str  # failed | delayed
    status: str  # e.g. 5.1.1
    diagnostic: str = ""  # e.g. "smtp; 550 5.1.1 <x@example.com>: User unknown"
    recipient: str = ""  # Final-Recipient, e.g. "rfc822; x@example.com"

    @property
    def hard(self) -> bool:
        """A permanent failure (5.x.x): the address itself is wrong."""
        return self.status.startswith("5")

    @property
    def fatal(self) -> bool:
        """The message is lost (the reporting server gave up), whatever the class."""
        return self.action == "failed"


class NotAReport(ValueError):
    """The message is not a delivery-status notification about a problem."""


def _clean(value: Any, limit: int = 500) -> str:
    return " ".join(_CONTROL.sub(" ", str(value or "")).split())[:limit]


def report_parse(raw: bytes) -> DeliveryReport:
    """Return the problem `raw` (a whole message) reports; raise NotAReport if it is not a
    multipart/report with a message/delivery-status part reporting a failed or delayed
    recipient with a valid Status."""
    try:
        message = message_from_bytes(raw, policy=policy.compat32)
        blocks = _status_blocks(message)
    except NotAReport:
        raise
    except Exception as exc:  # the email package on hostile input: never a crash
        raise NotAReport(f"unreadable message: {type(exc).__name__}") from None
    for block in blocks[1:]:  # the first block holds the per-message fields
        action = _clean(block.get("Action"), 20).lower()
        found = _STATUS.match(str(block.get("Status") or ""))
        if action in PROBLEMS and found and found[1] != "2":
            return DeliveryReport(
                action=action,
                status=".".join(found.groups()),
                diagnostic=_clean(block.get("Diagnostic-Code")),
                recipient=_clean(block.get("Final-Recipient"), 254),
            )
    raise NotAReport("no failed or delayed recipient with a valid Status")


def _status_blocks(message: Message) -> list[Message]:
    if message.get_content_type() != "multipart/report":
        raise NotAReport(f"not a report ({message.get_content_type()})")
    for part in message.get_payload() if message.is_multipart() else []:
        if isinstance(part, Message) and part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            blocks = (
                [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []
            )
            if blocks and len(blocks) == len(payload):
                return blocks
            raise NotAReport("empty or malformed message/delivery-status part")
    raise NotAReport("multipart/report without a message/delivery-status part")


def bounce_record(email_id: int, report: DeliveryReport) -> str:
    """Record `report` about message `email_id`; return what was done (for the log line):
    "bounced" (hard or final), "delayed" (soft, recorded), or why nothing was."""
    now = clock.now()
    with write_transaction("mail_bounce"):
        email = (
            OutboundEmail.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=email_id)
            .first()
        )
        if email is None:
            return "unknown message"
        if email.status not in (EmailStatus.SENT, EmailStatus.SENDING, EmailStatus.BOUNCED):
            return f"message is {email.status}, never handed over"
        if email.status == EmailStatus.BOUNCED and not report.fatal:
            return "already bounced"  # a late "delayed" report changes nothing
        changes: dict[str, object] = {
            "bounced_at": now,
            "bounce_status": report.status,
            "bounce_diagnostic": report.diagnostic,
        }
        if report.fatal:
            # lease_until cleared: a worker still holding the message must not record it as
            # sent over this, nor send it again when the lease runs out.
            changes.update(status=EmailStatus.BOUNCED, lease_until=None)
        OutboundEmail.objects.filter(pk=email.pk).update(**changes)
        outcome = "bounced" if report.fatal else "delayed"
        event_record(
            EventType.MAIL_BOUNCED,
            outcome=outcome,
            user=email.user,
            subject=f"email:{email.pk}",
            kind=email.kind,
            status=report.status,
            action=report.action,
            diagnostic=report.diagnostic,
        )
        user = email.user
        bounced_address = normalize_email(email.to_address)
        if report.hard and user is not None and normalize_email(user.email) == bounced_address:
            UndeliverableAddress.objects.update_or_create(
                user=user,
                address=bounced_address,
                defaults={
                    "email": email,
                    "bounced_at": now,
                    "status": report.status,
                    "diagnostic": report.diagnostic,
                },
            )
            outcome += ", address flagged"
    return outcome


def address_undeliverable(user: Any) -> UndeliverableAddress | None:
    """Return the flag on `user`'s current address, or None.

    None once the address changed (the flag is for the old one), or once a link sent to this
    address was opened after the bounce: the mail reached it after all.
    """
    if not getattr(user, "pk", None) or not user.email:
        return None
    opened_later = OutboundEmail.objects.filter(
        user=user,
        to_address__iexact=OuterRef("address"),
        reset__opened_at__gt=OuterRef("bounced_at"),
    )
    return (
        UndeliverableAddress.objects.filter(user=user, address=normalize_email(user.email))
        .exclude(Exists(opened_later))
        .first()
    )
