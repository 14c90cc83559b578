"""The security event log (LG1-LG3): one JSON line per security action on `portero.security`.

Values go through json.dumps, so CR, LF and quotes in anything a client typed are escaped and
cannot forge a line (LG3). Callers pass no secrets; e-mails are masked with `mask_email` (LG2).
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime
from typing import Any

from portero.core import clock

logger = logging.getLogger("portero.security")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("portero_request_id", default="")


def mask_email(address: str) -> str:
    """Return "g***@example.com" for "gabriela@example.com"."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def emit(
    event: str,
    *,
    outcome: str,
    actor: str = "",
    subject: str = "",
    ip: str | None = None,
    at: datetime | None = None,
    **details: Any,
) -> dict[str, Any]:
    """Log one security event that happened `at` (default: now); return the record (UTC)."""
    record = {
        "time": (at or clock.now()).astimezone(UTC).isoformat(timespec="milliseconds"),
        "event": event,
        "outcome": outcome,
        "actor": actor,
        "subject": subject,
        "ip": ip or "",
        "request_id": request_id.get(),
        **details,
    }
    logger.info(json.dumps(record, ensure_ascii=True, default=str, sort_keys=False))
    return record
