"""Read the demo SMTP server's Maildir (written by aiosmtpd's Mailbox handler)."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path


@dataclass(frozen=True)
class InboxMessage:
    key: str
    subject: str
    sender: str
    to: str
    date: datetime | None
    text: str
    html: str


def _parse(key: str, raw: bytes) -> InboxMessage:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    date_header = msg.get("Date")
    date = parsedate_to_datetime(str(date_header)) if date_header else None
    if date is not None and date.tzinfo is None:  # "-0000" (Django's Date header): UTC
        date = date.replace(tzinfo=UTC)
    return InboxMessage(
        key=key,
        subject=str(msg.get("Subject", "")),
        sender=str(msg.get("From", "")),
        to=str(msg.get("To", "")),
        date=date,
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else "",
    )


def inbox_messages(maildir: Path) -> list[InboxMessage]:
    """Return every message in `maildir`, newest first."""
    if not (maildir / "cur").is_dir():
        return []
    box = mailbox.Maildir(maildir, factory=None, create=False)
    found = [_parse(key, box.get_bytes(key)) for key in box.iterkeys()]
    return sorted(found, key=lambda m: (m.date is not None, m.date), reverse=True)


def inbox_message(maildir: Path, key: str) -> InboxMessage | None:
    """Return one message by its Maildir key, or None."""
    if not (maildir / "cur").is_dir():
        return None
    box = mailbox.Maildir(maildir, factory=None, create=False)
    try:
        return _parse(key, box.get_bytes(key))
    except KeyError:
        return None
