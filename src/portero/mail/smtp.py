"""Django's SMTP backend, signing each message with DKIM on its way out and keeping the server's
reply to it for the help desk."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend

from portero.mail.dkim import message_sign


class _PorteroSMTPMixin:
    last_reply: str = ""

    def sendmail(
        self,
        from_addr: str,
        to_addrs: str | Sequence[str],
        msg: Any,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
    ) -> dict[str, tuple[int, bytes]]:
        # Signed here, on the exact bytes the server gets, so each attempt (a retry renders
        # the message again) carries a signature of what it sends.
        if isinstance(msg, str):  # never unsigned by accident: sign the bytes that will be sent
            msg = re.sub(r"\r\n|\r|\n", "\r\n", msg).encode("utf-8")
        msg = message_sign(msg)
        return super().sendmail(  # type: ignore[misc]
            from_addr, to_addrs, msg, mail_options, rcpt_options
        )

    def data(self, msg: Any) -> tuple[int, bytes]:
        code, reply = super().data(msg)  # type: ignore[misc]
        self.last_reply = f"{code} {reply.decode('utf-8', 'replace')}"[:500]
        return code, reply


class ReplyKeepingSMTP(_PorteroSMTPMixin, smtplib.SMTP):
    pass


class ReplyKeepingSMTPSSL(_PorteroSMTPMixin, smtplib.SMTP_SSL):
    pass


class EmailBackend(DjangoSMTPBackend):
    """SMTP backend whose connection signs each message (DKIM, when configured) and remembers
    the reply to the last DATA command."""

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return ReplyKeepingSMTPSSL if self.use_ssl else ReplyKeepingSMTP

    @property
    def last_reply(self) -> str:
        return getattr(self.connection, "last_reply", "")
