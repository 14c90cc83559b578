"""Changes to an account's second factors, each audited in its own transaction, each told to
the account's address (MF5). Fresh proof is checked by the flows, before these are called."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction

from portero.accounts.models import User
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock, ratelimit
from portero.core.client import ClientInfo
from portero.core.crypto import keyed_digest
from portero.factors import totp
from portero.factors.models import AuthenticatorApp, BackupCode, Passkey
from portero.factors.selectors import has_factor
from portero.mail.models import EmailKind
from portero.mail.services import email_queue

BACKUP_CODES = 10
# 31 symbols without 0/o, 1/i/l: read off paper and typed on a phone without doubt. Ten of
# them give about 49 bits, kept as keyed digests (the server key is needed to test guesses).
_BACKUP_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_BACKUP_LENGTH = 10


class FactorError(Exception):
    """A change that cannot be made (e.g. an app is already set up)."""


def backup_code_normalize(raw: str) -> str:
    """The comparison form of a typed backup code: lower case, no spaces or dashes."""
    return "".join(ch for ch in raw.lower() if ch.isascii() and ch.isalnum())


def _backup_digest(user: User, code: str) -> str:
    return keyed_digest("factors.backup", f"{user.pk}:{backup_code_normalize(code)}")


def _notice(user: User, change: str, client: ClientInfo, **context: str) -> None:
    """Tell the account's address what changed (MF5): a stolen session must not go unseen."""
    if user.email:
        email_queue(
            kind=EmailKind.FACTOR_CHANGED,
            to_address=user.email,
            language=user.preferred_language(client.language),
            user=user,
            context={
                "change": change,
                "at": clock.now().isoformat(),
                "ip": client.ip or "",
                **context,
            },
        )


def authenticator_begin(*, user: User) -> AuthenticatorApp:
    """Return the account's unconfirmed app with a secret to show, creating it if need be."""
    app, _ = AuthenticatorApp.objects.get_or_create(
        user=user, defaults={"secret": totp.secret_new()}
    )
    if app.confirmed_at is not None:
        raise FactorError("an authenticator app is already set up")
    return app


@transaction.atomic
def authenticator_confirm(*, user: User, code: str, client: ClientInfo) -> bool:
    """Count the app once its first code is right (MF1); tell the owner."""
    app = (
        AuthenticatorApp.objects.select_for_update()
        .filter(user=user, confirmed_at__isnull=True)
        .first()
    )
    if app is None:
        return False
    now = clock.now()
    step = totp.matching_step(app.secret, code, at=now, after=None)
    if step is None:
        return False
    app.confirmed_at, app.last_step, app.last_used_at = now, step, now
    app.save(update_fields=["confirmed_at", "last_step", "last_used_at"])
    event_record(EventType.FACTOR_ADDED, user=user, client=client, method="totp")
    _notice(user, "totp_added", client)
    return True


@transaction.atomic
def authenticator_remove(*, user: User, client: ClientInfo) -> bool:
    deleted, _ = AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=False).delete()
    if not deleted:
        return False
    event_record(EventType.FACTOR_REMOVED, user=user, client=client, method="totp")
    _backup_codes_drop_if_alone(user)
    _notice(user, "totp_removed", client)
    return True


@transaction.atomic
def passkey_add(
    *,
    user: User,
    name: str,
    credential_id: bytes,
    credential: bytes,
    sign_count: int,
    client: ClientInfo,
) -> Passkey:
    passkey = Passkey.objects.create(
        user=user,
        name=name,
        credential_id=credential_id,
        credential=credential,
        sign_count=sign_count,
    )
    event_record(
        EventType.FACTOR_ADDED,
        user=user,
        client=client,
        method="passkey",
        passkey=passkey.pk,
        name=name,
    )
    _notice(user, "passkey_added", client, name=name)
    return passkey


@transaction.atomic
def passkey_remove(*, user: User, passkey_id: int, client: ClientInfo) -> bool:
    passkey = Passkey.objects.filter(user=user, pk=passkey_id).first()
    if passkey is None:
        return False
    name = passkey.name
    passkey.delete()
    event_record(
        EventType.FACTOR_REMOVED,
        user=user,
        client=client,
        method="passkey",
        passkey=passkey_id,
        name=name,
    )
    _backup_codes_drop_if_alone(user)
    _notice(user, "passkey_removed", client, name=name)
    return True


def _backup_codes_drop_if_alone(user: User) -> None:
    """With no factor left, backup codes would stand for nothing: they go too."""
    if not has_factor(user):
        BackupCode.objects.filter(user=user).delete()


@transaction.atomic
def backup_codes_new(*, user: User, client: ClientInfo) -> list[str]:
    """Replace the account's backup codes with ten new ones; return them, to be shown once."""
    codes = [
        "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(_BACKUP_LENGTH))
        for _ in range(BACKUP_CODES)
    ]
    BackupCode.objects.filter(user=user).delete()
    BackupCode.objects.bulk_create(
        BackupCode(user=user, digest=_backup_digest(user, code)) for code in codes
    )
    event_record(EventType.BACKUP_CODES_GENERATED, user=user, client=client, count=len(codes))
    _notice(user, "backup_codes_generated", client)
    return [f"{code[:5]}-{code[5:]}" for code in codes]


@dataclass(frozen=True)
class Check:
    """What checking a typed code gave: the method it proved ("otp", "backup") or a refusal."""

    method: str | None = None
    throttled: bool = False


def code_check(*, user: User, code: str, client: ClientInfo, purpose: str) -> Check:
    """Check an authenticator or backup code for `user`, throttled per account and IP (MF2).

    `purpose` ("sign_in", "step_up", "reset", "proof") goes into the audit trail. A wrong
    code is counted and recorded; nothing says which kind of code was tried.
    """
    account = f"user:{user.pk}"
    if ratelimit.exceeded("factor_guess", account=account, ip=client.ip):
        event_record(
            EventType.FACTOR_THROTTLED, outcome="refused", user=user, client=client, purpose=purpose
        )
        return Check(throttled=True)
    method = _code_accept(user, code)
    if method is None:
        ratelimit.hit("factor_guess", account=account, ip=client.ip)
        event_record(
            EventType.FACTOR_REJECTED, outcome="refused", user=user, client=client, purpose=purpose
        )
        return Check()
    if method == "backup":
        left = BackupCode.objects.filter(user=user, used_at__isnull=True).count()
        event_record(
            EventType.BACKUP_CODE_USED, user=user, client=client, purpose=purpose, left=left
        )
    return Check(method=method)


@transaction.atomic
def _code_accept(user: User, code: str) -> str | None:
    """Accept `code` once: a TOTP code of a step later than the last one used, or an unused
    backup code. Rows are locked so that two requests with one code cannot both pass."""
    digits = "".join(ch for ch in code if ch.isdigit() and ch.isascii())
    now = clock.now()
    if len(digits) == totp.DIGITS and len(code.strip()) <= totp.DIGITS + 2:
        app = (
            AuthenticatorApp.objects.select_for_update()
            .filter(user=user, confirmed_at__isnull=False)
            .first()
        )
        if app is None:
            return None
        step = totp.matching_step(app.secret, digits, at=now, after=app.last_step)
        if step is None:
            return None
        app.last_step, app.last_used_at = step, now
        app.save(update_fields=["last_step", "last_used_at"])
        return "otp"
    if len(backup_code_normalize(code)) != _BACKUP_LENGTH:
        return None
    used = BackupCode.objects.filter(
        user=user, digest=_backup_digest(user, code), used_at__isnull=True
    ).update(used_at=now)
    return "backup" if used else None
