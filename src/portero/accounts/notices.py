"""Optional notices: "a new device signed in to your account" (can be turned off)."""

from __future__ import annotations

from datetime import datetime, timedelta

from portero.accounts.models import User
from portero.audit.events import EventType
from portero.audit.models import AuditEvent
from portero.core import clock
from portero.core.client import ClientInfo
from portero.mail.models import EmailKind
from portero.mail.services import email_queue

REMEMBERED = timedelta(days=180)  # a device seen within this long is not "new"


def device_is_new(user: User, device: str, *, previous_sign_in: datetime | None) -> bool:
    """True when `user` had signed in recently, but never from this kind of device."""
    since = clock.now() - REMEMBERED
    if previous_sign_in is None or previous_sign_in < since:
        return False  # a first sign-in, or the first in a long while, is not news
    return not AuditEvent.objects.filter(user=user, event=EventType.SIGN_IN_OK,
                                         created_at__gte=since, details__device=device).exists()


def new_device_notice_queue(*, user: User, device: str, client: ClientInfo,
                            previous_sign_in: datetime | None) -> None:
    """Queue the notice if this device is new and the owner wants notices and has an address.

    `previous_sign_in` is the account's last sign-in before this one.
    """
    if not user.notify_new_device or not user.email:
        return
    if not device_is_new(user, device, previous_sign_in=previous_sign_in):
        return
    email_queue(kind=EmailKind.NEW_DEVICE_SIGN_IN, to_address=user.email,
                language=user.language, user=user,
                context={"at": clock.now().isoformat(), "device": device, "ip": client.ip or ""})
