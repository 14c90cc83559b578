"""Optional notices: "a new device signed in to your account" (can be turned off)."""

from __future__ import annotations

from datetime import timedelta

from portero.accounts.models import User
from portero.audit.events import EventType
from portero.audit.models import AuditEvent
from portero.core import clock
from portero.core.client import ClientInfo
from portero.mail.models import EmailKind
from portero.mail.services import email_queue

REMEMBERED = timedelta(days=180)  # a device seen within this long is not "new"


def device_is_new(user: User, device: str) -> bool:
    """True when `user` has signed in before, but never recently from this kind of device."""
    recent = AuditEvent.objects.filter(user=user, event=EventType.SIGN_IN_OK,
                                       created_at__gte=clock.now() - REMEMBERED)
    if not recent.exists():
        return False  # a first sign-in is not news
    return not recent.filter(details__device=device).exists()


def new_device_notice_queue(*, user: User, device: str, client: ClientInfo) -> None:
    """Queue the notice, if the owner wants it and has an address."""
    if not user.notify_new_device or not user.email:
        return
    email_queue(kind=EmailKind.NEW_DEVICE_SIGN_IN, to_address=user.email,
                language=user.language, user=user,
                context={"at": clock.now().isoformat(), "device": device, "ip": client.ip or ""})
