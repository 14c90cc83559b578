"""What second factors an account has (read-only)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from portero.accounts.models import User
from portero.factors.models import AuthenticatorApp, BackupCode, Passkey


@dataclass(frozen=True)
class Factors:
    authenticator_app: bool
    passkeys: int
    backup_codes_left: int
    backup_codes_issued: bool

    @property
    def any(self) -> bool:
        """True when the account is protected: an app or a passkey (backup codes alone are only
        a way back in, never a factor on their own)."""
        return self.authenticator_app or self.passkeys > 0


def factors_of(user: User) -> Factors:
    app = AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=False).exists()
    codes = BackupCode.objects.filter(user=user)
    return Factors(
        authenticator_app=app,
        passkeys=Passkey.objects.filter(user=user).count(),
        backup_codes_left=codes.filter(used_at__isnull=True).count(),
        backup_codes_issued=codes.exists(),
    )


def has_factor(user: User) -> bool:
    """True when signing in or recovering this account needs a second factor (MF3).

    One query, as it runs on every sign-in."""
    return (
        User.objects.filter(pk=user.pk)
        .filter(Q(authenticator_app__confirmed_at__isnull=False) | Q(passkeys__isnull=False))
        .exists()
    )


def passkeys_of(user: User) -> list[Passkey]:
    return list(Passkey.objects.filter(user=user))
