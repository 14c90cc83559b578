"""Signed-in journeys: sign in, sign out, change password.

Who is asking comes as a `ClientInfo` the view builds, as in every flow; the request is passed
only to the flows that change this browser's session (sign in and out, the second step, a new
password that keeps this session), and none of them builds a response.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from portero.accounts.backends import password_verified, user_by_username
from portero.accounts.models import User
from portero.accounts.notices import new_device_notice_queue
from portero.accounts.services import (
    session_end,
    session_record_create,
    session_record_forget,
    sessions_end,
    user_set_password,
    user_sign_in_remember,
)
from portero.accounts.throttle import (
    ThrottleState,
    throttle_clear,
    throttle_key,
    throttle_record_failure,
    throttle_state,
)
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock, ratelimit
from portero.core.client import ClientInfo
from portero.core.devices import describe_user_agent
from portero.factors.selectors import has_factor

SIGNED_IN_AT = "portero_signed_in_at"
SID = "portero_sid"  # the session's name to the portals (SessionRecord.sid)
AMR = "portero_amr"  # how this session was authenticated (RFC 8176 values)
# Where to go after signing in when the journey took a detour (recovery, activation): a portal's
# pending sign-in request, kept in this browser's session (federation issue).
RETURN_TO = "portero_return_to"
RETURN_TO_HOURS = 2  # a pending portal sign-in outlives a recovery e-mail's round trip, no more
# A correct password on an account with a second factor: who, since when, and where to go once
# the factor is given (portero.factors). Nothing is signed in until then.
SECOND_STEP = "portero_second_step"
SECOND_STEP_MINUTES = 10
# When this session last proved who is there (password or factor): MF5's "fresh proof".
PROOF_AT = "portero_proof_at"


@dataclass(frozen=True)
class SignInAttempt:
    """What a sign-in gave: the user, or why not in words that reveal no account (LI1)."""

    user: User | None = None
    # Set when no password was even tried: the typed username (known or not, counted the same
    # way) or the address has had too many failures. `locked`: only a new password helps.
    locked: bool = False
    wait_until: datetime | None = None
    address_limited: bool = False
    # The password was right; the account's second factor is asked for next (MF3, portero.factors).
    second_step: bool = False


def session_sid(request: HttpRequest) -> str:
    """Return this session's name to the portals ("" before a sign-in)."""
    return str(request.session.get(SID, ""))


def sign_in(
    request: HttpRequest,
    *,
    client: ClientInfo,
    username: str,
    password: str,
    destination: str | None = None,
) -> SignInAttempt:
    """Sign in, or say why not with nothing revealed about the account (LI1).

    Throttled attempts (LI2 per typed username, LI3 per address) cost the same hashing time as
    a wrong password. They say so, with how long to wait: the count is kept per typed
    username whether an account has it or not, so the answer is the same for both.
    """
    throttle = throttle_state(username)
    owner = user_by_username(username)  # once, known or not: the failure names its owner too
    refusal = _refusal(throttle, client)
    if refusal is not None:
        make_password(password)  # the work a real check would do (CWE-208)
        _failure(username, client, refusal, owner=owner, count=False)
        if throttle.refuses():
            return SignInAttempt(locked=throttle.locked, wait_until=throttle.wait_until)
        return SignInAttempt(address_limited=True)
    user = password_verified(owner, password)
    if user is None:
        _failure(username, client, EventType.SIGN_IN_FAILED, owner=owner, count=True)
        return SignInAttempt()
    if has_factor(user):
        _second_step_begin(
            request, user, client, clear_throttle=throttle.failures > 0, destination=destination
        )
        return SignInAttempt(second_step=True)
    _success(request, user, client, clear_throttle=throttle.failures > 0, amr=["pwd"])
    return SignInAttempt(user=user)


@transaction.atomic
def _second_step_begin(
    request: HttpRequest,
    user: User,
    client: ClientInfo,
    *,
    clear_throttle: bool,
    destination: str | None,
) -> None:
    """The password was right: remember who may give a second factor, in this browser only."""
    if clear_throttle:
        throttle_clear(user.username)
    if not request.user.is_authenticated:  # (a signed-in session's key is its record's)
        request.session.cycle_key()  # a planted session id learns nothing from this step
    request.session[SECOND_STEP] = {
        "user": user.pk,
        "at": clock.now().timestamp(),
        "destination": destination or "",
    }
    event_record(
        EventType.SIGN_IN_PASSWORD_OK,
        user=user,
        client=client,
        device=describe_user_agent(client.user_agent),
    )


def second_step_user(request: HttpRequest) -> tuple[User, str | None] | None:
    """Return who passed the password step in this browser, and where they were going, while
    it is fresh; None otherwise."""
    pending = request.session.get(SECOND_STEP)
    if not isinstance(pending, dict):
        return None
    age = clock.now().timestamp() - float(pending.get("at", 0))
    if not 0 <= age <= SECOND_STEP_MINUTES * 60:
        return None
    user = User.objects.filter(pk=int(pending.get("user") or 0), is_active=True).first()
    if user is None:
        return None
    return user, (str(pending.get("destination") or "") or None)


def complete_sign_in(
    request: HttpRequest, *, client: ClientInfo, user: User, amr: list[str]
) -> None:
    """Sign in `user`, who proved `amr` (a second factor after the password, or a passkey)."""
    request.session.pop(SECOND_STEP, None)
    _success(request, user, client, clear_throttle=False, amr=amr)


def proof_record(request: HttpRequest) -> None:
    """This session just proved who is there again (MF5)."""
    request.session[PROOF_AT] = clock.now().timestamp()


def proof_is_fresh(request: HttpRequest, *, minutes: int = 5) -> bool:
    """True when the password or a factor was given in this session within `minutes`."""
    at = request.session.get(PROOF_AT)
    return isinstance(at, int | float) and 0 <= clock.now().timestamp() - at <= minutes * 60


@transaction.atomic
def _success(
    request: HttpRequest, user: User, client: ClientInfo, *, clear_throttle: bool, amr: list[str]
) -> None:
    """Start the session and record it: every write of a sign-in, or none of them.

    The new-device notice is decided first, from the row as loaded; then this sign-in's time
    and device are written on it, in one UPDATE.
    """
    device = describe_user_agent(client.user_agent)
    new_device_notice_queue(
        user=user, device=device, client=client, previous_sign_in=user.last_login
    )
    if clear_throttle:  # a success resets the count (LI2); no row, nothing to reset
        throttle_clear(user.username)
    sid, previous_key = _settle_previous_session(request, user, client)
    login(request, user)  # the session only: Django's update_last_login is not connected
    user_sign_in_remember(user=user, device=device)
    if previous_key and request.session.session_key == previous_key:
        request.session.cycle_key()  # the same person again: Django keeps the key; not us (SE1)
    request.session[SIGNED_IN_AT] = request.session[PROOF_AT] = clock.now().timestamp()
    request.session[SID] = sid
    request.session[AMR] = amr
    request.session.save()  # the session row, complete, in this transaction
    session_record_create(
        user=user, session_key=request.session.session_key or "", sid=sid, client=client
    )
    event_record(EventType.SIGN_IN_OK, user=user, client=client, device=device, amr=amr)


def _settle_previous_session(
    request: HttpRequest, user: User, client: ClientInfo
) -> tuple[str, str | None]:
    """Return the sid for this sign-in and the key of the session this browser already had.

    Signing in again as the same person (a bookmark, a portal's prompt=login) keeps the
    session's name to the portals and only refreshes it; as somebody else, the other
    person's session ends everywhere first.
    """
    key, current = request.session.session_key, request.user
    if not (key and isinstance(current, User) and current.is_authenticated):
        return secrets.token_urlsafe(16), None
    if current.pk == user.pk and request.session.get(SID):
        session_record_forget(session_key=key)  # re-created for the new key
        return str(request.session[SID]), key
    session_end(session_key=key, reason="sign_out")
    event_record(EventType.SIGN_OUT, user=current, client=client, reason="another_sign_in")
    return secrets.token_urlsafe(16), key


def _refusal(throttle: ThrottleState, client: ClientInfo) -> EventType | None:
    """Return why this account or address may not try a password now (LI2, LI3), or None."""
    if throttle.refuses():
        return EventType.SIGN_IN_LOCKED if throttle.locked else EventType.SIGN_IN_THROTTLED
    if ratelimit.exceeded("sign_in_failure", ip=client.ip):
        return EventType.SIGN_IN_THROTTLED
    return None


@transaction.atomic
def _failure(
    username: str, client: ClientInfo, event: EventType, *, owner: User | None, count: bool
) -> None:
    """Count a failed attempt (per typed username and per address) and record it, under the
    account's owner if the name is one (so owners see the attempt in their history)."""
    failures = throttle_record_failure(username) if count else None
    ratelimit.hit("sign_in_failure", ip=client.ip)
    event_record(
        event,
        outcome="refused",
        actor="anonymous",
        client=client,
        user=owner,
        subject=f"account:{throttle_key(username)[:16]}",
        failures=failures,
        device=describe_user_agent(client.user_agent),
    )


def reauth_refused(*, user: User, client: ClientInfo) -> bool:
    """True when the account or the address may not try a password now (LI2, LI3)."""
    return _refusal(throttle_state(user.username), client) is not None


def reauth_failed(*, user: User, client: ClientInfo) -> None:
    """Count a wrong current password like a failed sign-in."""
    _failure(user.username, client, EventType.SIGN_IN_FAILED, owner=user, count=True)


@transaction.atomic
def sign_out(request: HttpRequest, *, client: ClientInfo, reason: str = "sign_out") -> None:
    """End the session on the server and at every portal that got tokens in it (OI6)."""
    user = request.user if isinstance(request.user, User) else None
    if request.session.session_key:
        session_end(session_key=request.session.session_key, reason=reason)
    logout(request)
    if user is not None:
        event_record(EventType.SIGN_OUT, user=user, client=client, reason=reason)


def return_to_remember(request: HttpRequest, *, url: str, **about: Any) -> None:
    """Keep `url` (a path on this site) as where to go once signed in, with facts `about` it
    for the pages on the way (the portal's name)."""
    request.session[RETURN_TO] = {"url": url, "at": clock.now().timestamp(), **about}


def return_to(request: HttpRequest) -> dict[str, Any] | None:
    """Return the pending destination kept by `return_to_remember`, if still fresh."""
    pending = request.session.get(RETURN_TO)
    if not isinstance(pending, dict):
        return None
    age = timedelta(seconds=clock.now().timestamp() - float(pending.get("at", 0)))
    url = str(pending.get("url", ""))
    if age > timedelta(hours=RETURN_TO_HOURS) or not (
        url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None)
    ):
        return None
    return pending


def return_to_take(request: HttpRequest) -> str | None:
    """Return and forget the pending destination."""
    pending = return_to(request)
    request.session.pop(RETURN_TO, None)
    return str(pending["url"]) if pending else None


@transaction.atomic
def change_password(
    request: HttpRequest, *, client: ClientInfo, user: User, new_password: str
) -> None:
    """Set the new password, keep this session, end the others (CP1, SE3)."""
    old_key = request.session.session_key
    user_set_password(
        user=user, password=new_password, client=client, via="change", keep_session_key=old_key
    )
    update_session_auth_hash(request, user)  # also gives this session a new id
    request.session.save()  # the new id's row commits with its record below
    session_record_forget(session_key=old_key or "")
    session_record_create(
        user=user,
        session_key=request.session.session_key or "",
        sid=session_sid(request),
        client=client,
    )


@transaction.atomic
def end_other_sessions(*, user: User, client: ClientInfo, keep_session_key: str | None) -> int:
    """Close every session of `user` but the one keyed `keep_session_key`; return how many."""
    ended = sessions_end(user=user, keep_session_key=keep_session_key)
    event_record(EventType.SESSIONS_ENDED, user=user, client=client, sessions_ended=ended)
    return ended


@transaction.atomic
def change_notifications(*, user: User, client: ClientInfo, notify_new_device: bool) -> None:
    """Save the optional notices the owner wants."""
    user.notify_new_device = notify_new_device
    user.save(update_fields=["notify_new_device"])
    event_record(
        EventType.NOTIFICATIONS_CHANGED,
        user=user,
        client=client,
        notify_new_device=notify_new_device,
    )


@transaction.atomic
def choose_language(*, user: User, client: ClientInfo, language: str) -> None:
    """Save the language the owner chose for pages and e-mails (one of LANGUAGES)."""
    if user.language == language:
        return
    user.language = language
    user.save(update_fields=["language"])
    event_record(EventType.LANGUAGE_CHANGED, user=user, client=client, language=language)
