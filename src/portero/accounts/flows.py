"""Signed-in journeys: sign in, sign out, change password."""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.http import HttpRequest

from portero.accounts.models import SessionRecord, User
from portero.accounts.services import session_record_create, user_set_password
from portero.core import clock
from portero.core.client import ClientInfo

SIGNED_IN_AT = "portero_signed_in_at"


def sign_in(request: HttpRequest, *, username: str, password: str) -> User | None:
    """Return the signed-in user, or None with nothing revealed about why (LI1)."""
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, User):
        return None
    login(request, user)  # rotates the session id (SE1)
    request.session[SIGNED_IN_AT] = clock.now().timestamp()
    request.session.save()
    session_record_create(
        user=user, session_key=request.session.session_key or "",
        client=ClientInfo.from_request(request),
    )
    return user


def sign_out(request: HttpRequest) -> None:
    """End the session on the server."""
    if request.session.session_key:
        SessionRecord.objects.filter(session_key=request.session.session_key).delete()
    logout(request)


def change_password(request: HttpRequest, *, user: User, new_password: str) -> None:
    """Set the new password, keep this session, end the others (CP1, SE3)."""
    old_key = request.session.session_key
    user_set_password(
        user=user, password=new_password, client=ClientInfo.from_request(request), via="change",
        keep_session_key=old_key,
    )
    update_session_auth_hash(request, user)  # also gives this session a new id
    SessionRecord.objects.filter(session_key=old_key or "").delete()
    session_record_create(
        user=user, session_key=request.session.session_key or "",
        client=ClientInfo.from_request(request),
    )
