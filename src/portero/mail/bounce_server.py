"""`portero bounces`: the SMTP server that bounces come back to (docs/mail.md, "Bounces").

It accepts mail only for valid VERP addresses (rebotes+<id>.<tag>@domain): any other recipient,
a forged or mistyped tag included, is refused at RCPT. The message is then read as a delivery
report and recorded; what is not a readable report is accepted and dropped with a log line,
so that no sending server retries it and nothing here ever crashes on it.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from django.db import close_old_connections

from portero.mail.bounces import NotAReport, bounce_record, report_parse
from portero.mail.verp import verp_parse

log = logging.getLogger("portero.bounces")

# A report carries at most the original message's headers or the whole of it; Portero's
# messages are a few tens of kilobytes.
DATA_SIZE_LIMIT = 2_000_000
MAX_RECIPIENTS = 10


class BounceHandler:
    """aiosmtpd handler: VERP recipients only, each report recorded in one thread (the
    database is used from there, never from the event loop)."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bounces-db")

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        if verp_parse(address) is None:
            log.warning(
                "bounces: refused recipient %r from %s (not a bounce address of ours, "
                "or a wrong tag)",
                address[:200],
                _peer(session),
            )
            return "550 5.1.1 No such bounce address"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or b""
        try:
            report = report_parse(raw)
        except NotAReport as reason:
            log.warning(
                "bounces: dropped a message to %s from %s: %s",
                ", ".join(envelope.rcpt_tos),
                _peer(session),
                reason,
            )
            return "250 2.0.0 Dropped: not a delivery report"
        loop = asyncio.get_running_loop()
        for address in envelope.rcpt_tos:
            email_id = verp_parse(address)
            if email_id is None:  # checked at RCPT; the settings cannot change meanwhile
                continue
            try:
                done = await loop.run_in_executor(self.executor, _record, email_id, report)
            except Exception:
                log.exception("bounces: could not record the report on message %s", email_id)
                return "451 4.3.0 Could not record the report, try again later"
            log.info(
                "bounces: message %s: %s %s (%s): %s",
                email_id,
                report.action,
                report.status,
                report.diagnostic[:200],
                done,
            )
        return "250 2.0.0 Report recorded"


def _record(email_id: int, report: Any) -> str:
    close_old_connections()  # a connection the database dropped is replaced, not reused
    try:
        return bounce_record(email_id, report)
    finally:
        close_old_connections()


def _peer(session: Any) -> str:
    peer = getattr(session, "peer", None)
    return str(peer[0]) if isinstance(peer, tuple) and peer else "?"


class BounceController(Controller):
    """The server on host:port, in its own thread, with Portero's limits."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            BounceHandler(),
            hostname=host,
            port=port,
            data_size_limit=DATA_SIZE_LIMIT,
            ident="Portero bounces",
        )
