"""The audit chain's HMAC keys, kept in a file outside the database (PORTERO_AUDIT_KEY_FILE).

The file holds one key per line, 64 hexadecimal characters (32 random bytes); the first line
seals new rows, the later ones only verify rows sealed before a rotation. Lines starting with
`#` and blank lines are ignored. Each key is known by an id derived from it (never the key),
which the rows it sealed carry.

No model is imported here: the settings module checks the file at start-up with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_KEY_LINE = re.compile(r"[0-9a-f]{64}")
GENERATE_HINT = (
    "create one with:\n"
    "  (umask 077; python3 -c 'import secrets; print(secrets.token_hex(32))' "
    "> /etc/portero/audit-key)"
)


def key_id(key: bytes) -> str:
    """Return the public name of `key`: 16 hex characters that do not reveal it."""
    return hashlib.sha256(b"portero-audit-key-id:" + key).hexdigest()[:16]


@dataclass(frozen=True)
class AuditKeys:
    """The keys of one key file: `current` seals, every one of them verifies."""

    current_id: str
    by_id: dict[str, bytes]

    def mac(self, message: str, kid: str | None = None) -> str:
        """Return the HMAC-SHA256 of `message` under key `kid` (the current one by default)."""
        key = self.by_id[kid or self.current_id]
        return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()

    def tag(self, kind: str, seq: int, row_hash: str) -> str:
        """Return "<key id>:<mac>" vouching for a chain position (a purge anchor, the epoch)."""
        return f"{self.current_id}:{self.mac(f'{kind}|{seq}|{row_hash}')}"

    def tag_valid(self, tag: str, kind: str, seq: int, row_hash: str) -> bool:
        kid, _, mac = tag.partition(":")
        if kid not in self.by_id:
            return False
        return hmac.compare_digest(mac, self.mac(f"{kind}|{seq}|{row_hash}", kid))


def audit_keys_parse(text: str, source: str) -> AuditKeys:
    """Return the keys written in `text`; ImproperlyConfigured naming `source` if malformed."""
    keys: list[bytes] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lower()
        if not line or line.startswith("#"):
            continue
        if not _KEY_LINE.fullmatch(line):
            raise ImproperlyConfigured(
                f"PORTERO_AUDIT_KEY_FILE {source}: line {number} is not 64 hexadecimal "
                f"characters; {GENERATE_HINT}"
            )
        keys.append(bytes.fromhex(line))
    if not keys:
        raise ImproperlyConfigured(f"PORTERO_AUDIT_KEY_FILE {source} holds no key; {GENERATE_HINT}")
    return AuditKeys(current_id=key_id(keys[0]), by_id={key_id(k): k for k in keys})


def audit_keys_read(path: Path) -> AuditKeys:
    """Return the keys in the file at `path`; ImproperlyConfigured if it cannot be used."""
    try:
        text = path.read_text()
    except OSError as problem:
        raise ImproperlyConfigured(
            f"PORTERO_AUDIT_KEY_FILE {path} cannot be read ({problem.strerror}); {GENERATE_HINT}"
        ) from None
    return audit_keys_parse(text, str(path))


def audit_key_file_create(path: Path) -> None:
    """Write a new key file holding one fresh key, readable by its owner only (demo, tests).

    Several processes may start at once: the first file written wins and the rest use it.
    """
    _write(path, secrets.token_hex(32) + "\n", replace=False)


def audit_key_rotate(path: Path) -> str:
    """Put a fresh key first in the file, keeping the older ones; return the new key's id."""
    older = path.read_text()
    audit_keys_parse(older, str(path))  # never rotate over a file that is already broken
    fresh = secrets.token_hex(32)
    _write(path, f"{fresh}\n{older.rstrip()}\n", replace=True)
    return key_id(bytes.fromhex(fresh))


def _write(path: Path, text: str, *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-key-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        Path(tmp).chmod(0o600)
        if replace:
            Path(tmp).replace(path)
        else:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


_cache: tuple[Path, float, AuditKeys] | None = None


def audit_keys(path: Path) -> AuditKeys:
    """Return the keys of `path`, read again only when the file changes (a rotation)."""
    global _cache
    stamp = path.stat().st_mtime if path.exists() else -1.0
    if _cache is None or _cache[:2] != (path, stamp):
        _cache = (path, stamp, audit_keys_read(path))
    return _cache[2]
