"""How account notices are composed at send time."""

from __future__ import annotations

from datetime import datetime

from portero.mail.composing import Composed, NotNeeded, absolute_url
from portero.mail.models import OutboundEmail


def compose_new_device(email: OutboundEmail) -> Composed:
    user = email.user
    if user is None or not user.notify_new_device:
        raise NotNeeded("the owner turned this notice off")
    return Composed(
        "new_device_sign_in",
        {
            "username": user.username,
            "at": datetime.fromisoformat(email.context["at"]),
            "device": email.context.get("device", ""),
            "ip": email.context.get("ip", ""),
            "history_url": absolute_url("accounts:history"),
            "forgot_password_url": absolute_url("recovery:forgot_password"),
            "notification_settings_url": absolute_url("accounts:notifications"),
        },
    )
