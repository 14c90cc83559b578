"""Sign-in check that costs the same for every kind of failure (LI1)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest

from portero.accounts.models import User


class UsernameBackend(ModelBackend):
    """Authenticate by case-insensitive username; unknown, password-less and disabled accounts
    cost one full password hash, like a wrong password does."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> User | None:
        if not username or password is None:
            return None
        user = User.objects.filter(username__lower=username.strip().lower()).first()
        if user is None or not user.has_usable_password():
            make_password(password)  # spend the hashing time a real check would (CWE-208)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
