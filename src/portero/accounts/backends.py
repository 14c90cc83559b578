"""Sign-in check that costs the same for every kind of failure (LI1)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest

from portero.accounts.models import User
from portero.accounts.rules import normalize_username


def user_by_username(username: str) -> User | None:
    """The account named `username` ignoring case and surrounding spaces, or None (one query,
    the same for known and unknown names)."""
    return User.objects.filter(username__lower=normalize_username(username)).first()


def password_verified(user: User | None, password: str) -> User | None:
    """Return `user` if `password` is its password and it may sign in, else None.

    Unknown, password-less and disabled accounts cost one full password hash, like a wrong
    password does (CWE-208). A hash made with weaker settings is upgraded on success.
    """
    if user is None or not user.has_usable_password():
        make_password(password)  # spend the hashing time a real check would
        return None
    if user.check_password(password) and user.is_active:
        return user
    return None


class UsernameBackend(ModelBackend):
    """Django's `authenticate()` with the same check as the sign-in flow."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or password is None:
            return None
        return password_verified(user_by_username(username), password)
