"""How account notices are composed at send time."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.urls import reverse

from portero.mail.models import EmailKind, OutboundEmail
from portero.mail.rendering import Composed, NotNeeded, composer


@composer(EmailKind.NEW_DEVICE_SIGN_IN)
def compose_new_device(email: OutboundEmail) -> Composed:
    user = email.user
    if user is None or not user.notify_new_device:
        raise NotNeeded("the owner turned this notice off")
    base = settings.PORTERO_BASE_URL
    return Composed("new_device_sign_in", {
        "username": user.username,
        "at": datetime.fromisoformat(email.context["at"]),
        "device": email.context.get("device", ""),
        "ip": email.context.get("ip", ""),
        "history_url": f"{base}{reverse('accounts:history')}",
        "forgot_password_url": f"{base}{reverse('recovery:forgot_password')}",
        "notification_settings_url": f"{base}{reverse('accounts:notifications')}",
    })
