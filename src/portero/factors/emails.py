"""How second-factor notices are composed at send time (MF5)."""

from __future__ import annotations

from datetime import datetime

from portero.mail.models import EmailKind, OutboundEmail
from portero.mail.rendering import Composed, NotNeeded, absolute_url, composer


@composer(EmailKind.FACTOR_CHANGED)
def compose_factor_changed(email: OutboundEmail) -> Composed:
    user = email.user
    if user is None:
        raise NotNeeded("the account no longer exists")
    return Composed("factor_changed", {
        "username": user.username,
        "change": email.context.get("change", ""),
        "name": email.context.get("name", ""),
        "at": datetime.fromisoformat(email.context["at"]),
        "ip": email.context.get("ip", ""),
        "security_url": absolute_url("factors:security"),
        "history_url": absolute_url("accounts:history"),
        "forgot_password_url": absolute_url("recovery:forgot_password"),
    })
