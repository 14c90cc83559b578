"""argon2id with parameters from the settings, on NFC-normalised passwords (PW2, PW5)."""

from __future__ import annotations

import unicodedata

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


def normalize_password(password: str) -> str:
    """Return `password` in Unicode NFC; never truncated, case kept (PW2)."""
    return unicodedata.normalize("NFC", password)


class PorteroArgon2PasswordHasher(Argon2PasswordHasher):
    """Django's argon2id hasher with configurable cost; raising the cost rehashes at sign-in."""

    @property  # type: ignore[override]
    def time_cost(self) -> int:  # type: ignore[override]
        return int(settings.PORTERO_ARGON2_TIME_COST)

    @property  # type: ignore[override]
    def memory_cost(self) -> int:  # type: ignore[override]
        return int(settings.PORTERO_ARGON2_MEMORY_KIB)

    @property  # type: ignore[override]
    def parallelism(self) -> int:  # type: ignore[override]
        return int(settings.PORTERO_ARGON2_PARALLELISM)

    def encode(self, password: str, salt: str) -> str:
        return super().encode(normalize_password(password), salt)

    def verify(self, password: str, encoded: str) -> bool:
        return super().verify(normalize_password(password), encoded)
