"""Access log without secrets: recovery links carry a token in their path (LG2)."""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

_TOKEN_PATH = re.compile(r"^/restablecer/[^/]+\.[^/]+/")


def redact_path(path: str) -> str:
    """Return `path` with any recovery token replaced by a placeholder."""
    return _TOKEN_PATH.sub("/restablecer/[token]/", path)


class RedactingLogger(Logger):  # type: ignore[misc]
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact_path(atoms.get("U", ""))
        return atoms
