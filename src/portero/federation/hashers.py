"""A fast hash for client secrets (OI5), which are random, not chosen by people.

django-oauth-toolkit stores secrets with a Django password hasher, by default the first of
PASSWORD_HASHERS: argon2id here, which would spend 20 MB and tens of milliseconds on every
token request. A client secret is 128 random characters (over 700 bits), so no amount of
stretching changes what an offline guess costs: a salted SHA-256 is as safe and costs
microseconds. Django has no such hasher, hence this one. It is last in PASSWORD_HASHERS, so
it never hashes a person's password.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.hashers import BasePasswordHasher
from django.utils.crypto import constant_time_compare


class ClientSecretHasher(BasePasswordHasher):
    algorithm = "portero_secret_sha256"

    def encode(self, password: str, salt: str) -> str:
        if not salt or "$" in salt:
            raise ValueError("a salt without '$' is required")
        digest = hashlib.sha256(f"{salt}${password}".encode()).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded: str) -> dict[str, Any]:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        decoded = self.decode(encoded)
        return constant_time_compare(encoded, self.encode(password, decoded["salt"]))

    def safe_summary(self, encoded: str) -> dict[Any, Any]:
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "salt": decoded["salt"][:4] + "…"}

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass  # nothing to equalise: every secret costs the same single hash
