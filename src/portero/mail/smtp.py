"""Django's SMTP backend, keeping the server's reply to each message for the help desk."""

from __future__ import annotations

import smtplib
from typing import Any

from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend


class _ReplyKeepingMixin:
    last_reply: str = ""

    def data(self, msg: Any) -> tuple[int, bytes]:
        code, reply = super().data(msg)  # type: ignore[misc]
        self.last_reply = f"{code} {reply.decode('utf-8', 'replace')}"[:500]
        return code, reply


class ReplyKeepingSMTP(_ReplyKeepingMixin, smtplib.SMTP):
    pass


class ReplyKeepingSMTPSSL(_ReplyKeepingMixin, smtplib.SMTP_SSL):
    pass


class EmailBackend(DjangoSMTPBackend):
    """SMTP backend whose connection remembers the reply to the last DATA command."""

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return ReplyKeepingSMTPSSL if self.use_ssl else ReplyKeepingSMTP

    @property
    def last_reply(self) -> str:
        return getattr(self.connection, "last_reply", "")
