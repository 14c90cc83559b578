"""State changes on accounts. Each records its consequences in the same transaction."""

from __future__ import annotations

from typing import Any, Literal

from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import QuerySet

from portero.accounts.models import SessionRecord, User
from portero.accounts.notices import devices_remembered
from portero.accounts.rules import normalize_email, normalize_username
from portero.accounts.signals import sessions_ended
from portero.accounts.throttle import throttle_clear
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock
from portero.core.client import ClientInfo
from portero.core.devices import describe_user_agent
from portero.mail.models import EmailKind
from portero.mail.services import email_queue

PasswordVia = Literal["reset", "activation", "change", "cli"]
AccountVia = Literal["cli", "import", "demo"]


def user_sign_in_remember(*, user: User, device: str | None) -> None:
    """Set `last_login` and remember `device` (None: no device known), in one UPDATE.

    The sign-in flow calls it in place of Django's `update_last_login`, which is not connected
    (`AccountsConfig.ready`), so that the new-device check needs no query of its own. `device`
    is described from the same (truncated) user agent as the audit row's, so the two agree.
    """
    now = clock.now()
    changes: dict[str, Any] = {"last_login": now}
    if device is not None:
        changes["known_devices"] = devices_remembered(user.known_devices, device, now)
    User.objects.filter(pk=user.pk).update(**changes)
    for field, value in changes.items():
        setattr(user, field, value)


def session_record_create(
    *, user: User, session_key: str, sid: str, client: ClientInfo
) -> SessionRecord:
    """Remember that `session_key` belongs to `user`, named `sid` to the portals."""
    return SessionRecord.objects.create(
        session_key=session_key, sid=sid, user=user, ip=client.ip, user_agent=client.user_agent
    )


@transaction.atomic
def _records_end(records: QuerySet[SessionRecord], *, reason: str) -> int:
    """Delete these sessions and their records, and tell whoever listens (OI6)."""
    ended = list(records.values_list("user_id", "sid"))
    Session.objects.filter(session_key__in=records.values("session_key")).delete()
    records.delete()
    by_user: dict[int, list[str]] = {}
    for user_id, sid in ended:
        by_user.setdefault(user_id, []).append(sid)
    for user_id, sids in by_user.items():
        sessions_ended.send(
            sender=SessionRecord, user_id=user_id, sids=[s for s in sids if s], reason=reason
        )
    return len(ended)


def sessions_end(*, user: User, keep_session_key: str | None = None, reason: str = "ended") -> int:
    """End every session of `user` on the server except `keep_session_key`; return how many."""
    records = SessionRecord.objects.filter(user=user).exclude(session_key=keep_session_key or "")
    return _records_end(records, reason=reason)


def session_end(*, session_key: str, reason: str = "sign_out") -> int:
    """End one session by its key (signing out); return 1 if it was a signed-in session."""
    return _records_end(SessionRecord.objects.filter(session_key=session_key), reason=reason)


@transaction.atomic
def sessions_purge_expired() -> int:
    """Delete expired sessions and the records of sessions that no longer exist, ending them
    at the portals in the same transaction."""
    SessionStore.clear_expired()
    live = Session.objects.values("session_key")
    return _records_end(SessionRecord.objects.exclude(session_key__in=live), reason="expired")


def session_record_forget(*, session_key: str) -> None:
    """Forget the record of a session whose key is about to change (signing in again); the
    session itself, and its name to the portals, go on."""
    SessionRecord.objects.filter(session_key=session_key).delete()


@transaction.atomic
def user_set_password(
    *,
    user: User,
    password: str,
    client: ClientInfo,
    via: PasswordVia,
    keep_session_key: str | None = None,
) -> None:
    """Set a validated password, end the other sessions (SE3) and notify the owner (FC4).

    Moving `password_changed_at` also kills every recovery link issued before now (TK5).
    """
    now = clock.now()
    user.set_password(password)
    user.password_changed_at = now
    user.save(update_fields=["password", "password_changed_at"])
    ended = sessions_end(user=user, keep_session_key=keep_session_key, reason="password")
    throttle_clear(user.username)  # a new password lifts the sign-in delay and lock (LI2)
    event_record(
        EventType.PASSWORD_CHANGED, user=user, client=client, via=via, sessions_ended=ended
    )
    if user.email:
        email_queue(
            kind=EmailKind.PASSWORD_CHANGED,
            to_address=user.email,
            language=user.preferred_language(client.language),
            user=user,
            context={
                "changed_at": now.isoformat(),
                "ip": client.ip or "",
                "device": describe_user_agent(client.user_agent),
                "via": via,
                "sessions_ended": ended,
            },
        )


def user_email_verified(*, user: User, address: str) -> None:
    """Remember that the owner read mail sent to `address`, if it is still the account's."""
    if address and (
        normalize_email(address)
        == normalize_email(user.email)
        != normalize_email(user.verified_email)
    ):
        user.verified_email = user.email
        user.save(update_fields=["verified_email"])


class AccountError(Exception):
    """A request to create or change an account that cannot be honoured; says why."""


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str,
    full_name: str = "",
    language: str = "",
    password: str | None = None,
    is_staff: bool = False,
    via: AccountVia = "cli",
) -> User:
    """Create an account and record it; without a password its owner activates it by e-mail."""
    if User.objects.filter(username__lower=normalize_username(username)).exists():
        raise AccountError(f"the username {username!r} is taken (usernames ignore case)")
    user = User.objects.create_user(
        username=username,
        email=email,
        password=password,
        full_name=full_name,
        language=language,
        is_staff=is_staff,
    )
    event_record(EventType.ACCOUNT_CREATED, user=user, via=via, with_password=bool(password))
    return user


@transaction.atomic
def user_update_details(*, user: User, via: AccountVia, **wanted: str) -> list[str]:
    """Set the given details (e-mail, full name, language); record which changed, never the
    values (LG2). Return the names of the changed fields."""
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    if changed:
        for name in changed:
            setattr(user, name, wanted[name])
        user.save(update_fields=changed)
        event_record(EventType.ACCOUNT_UPDATED, user=user, via=via, fields=changed)
    return changed


ROLE_GROUPS = {"agent": "Mesa de Servicio: agente", "supervisor": "Mesa de Servicio: supervisor"}


@transaction.atomic
def user_set_active(*, user: User, active: bool) -> int:
    """Enable or disable `user`; disabling ends every session. Return how many were ended."""
    user.is_active = active
    user.save(update_fields=["is_active"])
    return 0 if active else sessions_end(user=user, reason="disabled")


@transaction.atomic
def user_grant_role(*, user: User, role: str) -> None:
    """Make `user` a help-desk agent or supervisor (a group), or an administrator; record it."""
    user.is_staff = True
    user.is_superuser = role == "administrator"
    user.save(update_fields=["is_staff", "is_superuser"])
    if role in ROLE_GROUPS:
        user.groups.add(Group.objects.get(name=ROLE_GROUPS[role]))
    event_record(EventType.ACCOUNT_ROLE_GRANTED, user=user, role=role)
