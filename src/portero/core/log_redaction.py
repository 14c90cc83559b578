"""Nothing secret and nothing forged in any log line (LG2, LG3).

One redaction for every log path: the access log (gunicorn), gunicorn's error log, Django's
own warnings and Portero's loggers. A recovery token is replaced wherever it appears (any
path, with or without its trailing slash, percent-encoded dot included), and control
characters are written as escapes, so a request cannot add a line of its own or a raw NUL.
"""

from __future__ import annotations

import logging
import re

# The shape of a recovery link's token (portero.recovery.tokens): selector "." verifier.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}(?:\.|%2[eE])[A-Za-z0-9_-]{43}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PLACEHOLDER = "[token]"


def redact(value: object) -> str:
    """Return `value` as text fit for a log line: tokens out, control characters escaped."""
    text = "-" if value is None else str(value)
    text = _TOKEN.sub(PLACEHOLDER, text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def redact_keeping_lines(value: object) -> str:
    """As `redact`, but a traceback (written by Portero, not by a request) keeps its lines."""
    return "\n".join(redact(line) for line in str(value).split("\n"))


class RedactFilter(logging.Filter):
    """A logging filter applying `redact` to the whole message, arguments included."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a message that cannot be formatted is still logged, as is
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), None  # a message is one line, always
        # A refused request, or a 503 while the database is down (one per request during an
        # outage): its line suffices, without a traceback each.
        status = getattr(record, "status_code", 500)
        if status < 500 or status == 503:
            record.exc_info, record.exc_text = None, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_keeping_lines(
                logging.Formatter().formatException(record.exc_info)
            )
        return True
