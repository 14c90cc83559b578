"""What the worker deletes so the federation tables do not grow without bound."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from oauth2_provider.models import clear_expired

from portero.core import clock
from portero.federation.models import Authorization, DeliveryStatus, LogoutDelivery


def federation_history_purge() -> int:
    """Delete expired tokens and codes (the library's own sweep), authorizations of sessions
    that ended, and finished logout deliveries, older than PORTERO_RECOVERY_RETENTION_DAYS;
    return how many of Portero's rows went."""
    clear_expired()
    cutoff = clock.now() - timedelta(days=settings.PORTERO_RECOVERY_RETENTION_DAYS)
    # A code never redeemed has no session to end: its row goes once it is as old.
    done, _ = (
        Authorization.objects.filter(created_at__lt=cutoff)
        .exclude(used_at__isnull=False, session_ended_at__isnull=True)
        .delete()
    )
    sent, _ = LogoutDelivery.objects.filter(
        created_at__lt=cutoff, status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED]
    ).delete()
    return done + sent
