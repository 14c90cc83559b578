"""Password rules of our own; the rest are Django's (see AUTH_PASSWORD_VALIDATORS)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class DifferentFromCurrentValidator:
    """Refuse the account's current password as its new one (PW4)."""

    def validate(self, password: str, user: Any = None) -> None:
        if user is not None and user.has_usable_password() and user.check_password(password):
            raise ValidationError(
                _("The new password must be different from the current one."),
                code="password_unchanged",
            )

    def get_help_text(self) -> str:
        return _("It must be different from your current password.")
