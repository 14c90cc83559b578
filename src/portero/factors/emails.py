"""How second-factor notices are composed at send time (MF5, and MF4's assisted recovery)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from portero.factors.assisted import cancel_token
from portero.factors.models import AssistedRecovery, AssistedRecoveryState
from portero.mail.composing import Composed, NotNeeded, absolute_url
from portero.mail.models import OutboundEmail


def compose_factor_changed(email: OutboundEmail) -> Composed:
    user = email.user
    if user is None:
        raise NotNeeded("the account no longer exists")
    return Composed(
        "factor_changed",
        {
            "username": user.username,
            "change": email.context.get("change", ""),
            "name": email.context.get("name", ""),
            "at": datetime.fromisoformat(email.context["at"]),
            "ip": email.context.get("ip", ""),
            "security_url": absolute_url("factors:security"),
            "history_url": absolute_url("accounts:history"),
            "forgot_password_url": absolute_url("recovery:forgot_password"),
        },
    )


def compose_assisted_recovery(email: OutboundEmail) -> Composed:
    """The notice of an assisted recovery (MF4), with its one-click cancel link: derived now
    from the row and the server key, never stored in the outbox."""
    recovery = (
        AssistedRecovery.objects.select_related("user")
        .filter(pk=email.context.get("recovery"))
        .first()
    )
    if recovery is None or recovery.state != AssistedRecoveryState.PENDING:
        raise NotNeeded("the assisted recovery is no longer waiting")
    return Composed(
        "assisted_recovery",
        {
            "username": recovery.user.username,
            "started_at": recovery.started_at,
            "due_at": recovery.due_at,
            "hours": settings.PORTERO_ASSISTED_RECOVERY_HOURS,
            "cancel_url": absolute_url("factors:assisted_cancel", token=cancel_token(recovery)),
        },
    )
