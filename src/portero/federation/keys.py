"""The ID-token signing keys: one active key, and retired keys still published (OI4, OI8).

django-oauth-toolkit reads one private key from a setting, fixed for the life of a process. A
rotation must reach every running `portero serve` worker without a restart and keep the old
key in the JWKS while tokens it signed are alive, so the key ring lives in a file
(PORTERO_OIDC_KEYS_FILE) that each process re-reads when it changes. `portero keys rotate`
writes it atomically; demo and development create it on first use.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from jwcrypto import jwk

from portero.core import clock

ALGORITHM = "RS256"
RSA_BITS = 2048
# A retired key stays published this much longer than an ID token lives, for clock skew and
# for portals that check a token a little after receiving it.
RETIRED_GRACE = timedelta(minutes=5)
# How long portals may cache the JWKS. A new key is published this long before it signs, so
# no portal meets a token signed with a key it has not seen (`keys rotate --now` skips it).
JWKS_MAX_AGE = timedelta(minutes=5)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: jwk.JWK
    created_at: datetime
    active_from: datetime  # when it starts signing (published from `created_at`)
    retired_at: datetime | None  # when the next key took over

    def public_jwk(self) -> dict[str, str]:
        data = json.loads(self.private.export_public())
        return {**data, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}


def _new_key(now: datetime, active_from: datetime) -> dict[str, str | None]:
    key = jwk.JWK.generate(kty="RSA", size=RSA_BITS)
    pem = key.export_to_pem(private_key=True, password=None).decode()
    return {
        "kid": key.thumbprint(),
        "pem": pem,
        "created_at": now.isoformat(),
        "active_from": active_from.isoformat(),
        "retired_at": None,
    }


def _published_until(retired_at: datetime) -> datetime:
    return retired_at + timedelta(seconds=settings.PORTERO_OIDC_ID_TOKEN_SECONDS) + RETIRED_GRACE


class KeysMissing(ImproperlyConfigured):
    """The key file is missing in production: an operator must create it."""


class KeyRing:
    """The keys in PORTERO_OIDC_KEYS_FILE, re-read when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: list[SigningKey] = []

    def active(self) -> SigningKey:
        """Return the key that signs new tokens: the newest one whose time has come."""
        now = clock.now()
        keys = self._load()
        return next((k for k in keys if k.active_from <= now), keys[-1])

    def published(self) -> list[SigningKey]:
        """Return the keys the JWKS shows: the active one and the recently retired ones."""
        now = clock.now()
        return [
            k for k in self._load() if k.retired_at is None or _published_until(k.retired_at) > now
        ]

    def find(self, kid: str) -> SigningKey | None:
        """Return the published key named `kid`, if any."""
        return next((k for k in self.published() if k.kid == kid), None)

    def rotate(self, *, at_once: bool = False) -> SigningKey:
        """Add a key that signs from JWKS_MAX_AGE on (or at once: a compromised key), retire
        the current one then, and drop keys no longer published; return the new key."""
        with self._lock:
            now = clock.now()
            starts = now if at_once else now + JWKS_MAX_AGE
            entries = self._read_entries() if self.path.exists() else []
            for entry in entries:
                entry["retired_at"] = entry["retired_at"] or starts.isoformat()
            kept = [
                e
                for e in entries
                if _published_until(datetime.fromisoformat(str(e["retired_at"]))) > now
            ]
            new = _new_key(now, now if not entries else starts)
            self._write([new, *kept])
            self._stamp = None
        return next(k for k in self._load() if k.kid == new["kid"])

    def _load(self) -> list[SigningKey]:
        with self._lock:
            if not self.path.exists():
                if settings.PRODUCTION:
                    raise KeysMissing(
                        f"The signing key file {self.path} does not exist; create it with "
                        "`portero keys rotate`."
                    )
                self._write([_new_key(clock.now(), clock.now())], replace=False)
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:
                self._keys = [self._parse(entry) for entry in self._read_entries()]
                self._stamp = stamp
            if not self._keys:
                raise ImproperlyConfigured(f"The signing key file {self.path} holds no key.")
            return self._keys

    def _read_entries(self) -> list[dict[str, str | None]]:
        try:
            data = json.loads(self.path.read_text())
            return list(data["keys"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ImproperlyConfigured(
                f"The signing key file {self.path} cannot be read: {error}"
            ) from error

    @staticmethod
    def _parse(entry: dict[str, str | None]) -> SigningKey:
        private = jwk.JWK.from_pem(str(entry["pem"]).encode())
        retired = entry.get("retired_at")
        created = datetime.fromisoformat(str(entry["created_at"]))
        return SigningKey(
            kid=str(entry["kid"]),
            private=private,
            created_at=created,
            active_from=datetime.fromisoformat(
                str(entry.get("active_from") or entry["created_at"])
            ),
            retired_at=datetime.fromisoformat(retired) if retired else None,
        )

    def _write(self, entries: list[dict[str, str | None]], *, replace: bool = True) -> None:
        """Write the file whole, readable by its owner only: replace it in one rename, or
        (`replace=False`) create it only if no other process did first (several web workers
        start at once, and all must sign with the same first key)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".oidc-keys-")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump({"keys": entries}, handle, indent=1)
            Path(tmp).chmod(0o600)
            if replace:
                Path(tmp).replace(self.path)
            else:
                with contextlib.suppress(FileExistsError):  # another process won: use its key
                    os.link(tmp, self.path)
        finally:
            Path(tmp).unlink(missing_ok=True)


_ring: KeyRing | None = None


def keyring() -> KeyRing:
    """Return this process's key ring for PORTERO_OIDC_KEYS_FILE."""
    global _ring
    if _ring is None or _ring.path != settings.PORTERO_OIDC_KEYS_FILE:
        _ring = KeyRing(settings.PORTERO_OIDC_KEYS_FILE)
    return _ring
