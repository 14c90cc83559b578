"""gunicorn's logs without secrets or forged lines (LG2, LG3), and never a failure of their own.

gunicorn formats the access line inside its request and error handling, also for requests
Django refused before any middleware (no path at all): anything raised here would end the
worker. Every atom is redacted (portero.core.log_redaction), and formatting falls back to
gunicorn's own atoms, then to placeholders, rather than raise.
"""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.glogging import Logger

from portero.core.log_redaction import RedactFilter, redact


class RedactingLogger(Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(RedactFilter())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        try:
            atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        except Exception:  # a request too broken to describe is still logged
            logging.getLogger(__name__).warning("request too malformed to describe")
            return _Placeholders()
        return _Placeholders(
            {
                name: redact(value) if isinstance(value, str | None) else value
                for name, value in atoms.items()
            }
        )


class _Placeholders(dict[str, Any]):
    """Atoms that answer "-" for anything missing, as gunicorn's own do."""

    def __missing__(self, key: str) -> str:
        return "-"
