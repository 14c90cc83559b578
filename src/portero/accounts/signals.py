"""What every sign-in writes on the account, whichever way it came in."""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal
from django.http import HttpRequest

from portero.accounts.models import User
from portero.accounts.notices import devices_remembered
from portero.core import clock
from portero.core.client import ClientInfo
from portero.core.devices import describe_user_agent

# Sent inside the transaction that ends signed-in sessions, whatever the cause (sign-out,
# "close the other sessions", a new password, the help desk, expiry), with `user`, `sids` (the
# ended sessions' `SessionRecord.sid`) and `reason`. portero.federation ends them at the
# portals (OI6).
sessions_ended = Signal()


def sign_in_remember(sender: type[User], request: HttpRequest | None, user: User,
                     **kwargs: Any) -> None:
    """Set `last_login` and remember the device, in one UPDATE (`user_logged_in` receiver).

    Replaces Django's `update_last_login`, so that the new-device check needs no query of its
    own. The device is described from the same (truncated) user agent as the audit row's, so
    the two agree. Without a request there is no device: only `last_login` changes.
    """
    now = clock.now()
    changes: dict[str, Any] = {"last_login": now}
    if request is not None:
        device = describe_user_agent(ClientInfo.from_request(request).user_agent)
        changes["known_devices"] = devices_remembered(user.known_devices, device, now)
    User.objects.filter(pk=user.pk).update(**changes)
    for field, value in changes.items():
        setattr(user, field, value)
