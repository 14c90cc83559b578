"""Optional notices: "a new device signed in to your account" (can be turned off)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from portero.accounts.models import User
from portero.core import clock
from portero.core.client import ClientInfo
from portero.mail.models import EmailKind
from portero.mail.services import email_queue

REMEMBERED = timedelta(days=180)  # a device seen within this long is not "new"


def device_is_new(
    user: User, device: str, *, previous_sign_in: datetime | None, now: datetime
) -> bool:
    """True when `user` had signed in recently, but not lately from this kind of device.

    Reads only the loaded row: `user.known_devices` and `previous_sign_in` as they were before
    this sign-in recorded itself.
    """
    if previous_sign_in is None or previous_sign_in < now - REMEMBERED:
        return False  # a first sign-in, or the first in a long while, is not news
    seen = user.known_devices.get(device)
    return seen is None or not _remembered(seen, now)


def devices_remembered(known: dict[str, str], device: str, now: datetime) -> dict[str, str]:
    """Return `known` with `device` seen today, less the devices forgotten by now.

    Dropping the forgotten ones here keeps the row small: it only holds the last REMEMBERED.
    """
    kept = {name: seen for name, seen in known.items() if _remembered(seen, now)}
    return {**kept, device: _utc_day(now).isoformat()}


def _remembered(seen: str, now: datetime) -> bool:
    """True when the day `seen` (ISO) falls within REMEMBERED of `now`: only days are kept."""
    return date.fromisoformat(seen) >= _utc_day(now - REMEMBERED)


def _utc_day(moment: datetime) -> date:
    """The UTC date of `moment`, so the stored days do not depend on the server's time zone."""
    return moment.astimezone(UTC).date()


def new_device_notice_queue(
    *, user: User, device: str, client: ClientInfo, previous_sign_in: datetime | None
) -> None:
    """Queue the notice if this device is new and the owner wants notices and has an address.

    `previous_sign_in` is the account's last sign-in before this one, and `user.known_devices`
    must also be as it was before this sign-in (no query: see `device_is_new`).
    """
    if not user.notify_new_device or not user.email:
        return
    now = clock.now()
    if not device_is_new(user, device, previous_sign_in=previous_sign_in, now=now):
        return
    email_queue(
        kind=EmailKind.NEW_DEVICE_SIGN_IN,
        to_address=user.email,
        language=user.preferred_language(client.language),
        user=user,
        context={"at": now.isoformat(), "device": device, "ip": client.ip or ""},
    )
