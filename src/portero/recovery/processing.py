"""The worker's side of recovery: turn pending requests into resets and queued e-mails."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from portero.core import clock
from portero.recovery.flows.password_reset import process_password_request
from portero.recovery.flows.username_reminder import process_username_request
from portero.recovery.models import RecoveryRequest, RequestKind, RequestOutcome

HANDLERS: dict[str, Callable[[RecoveryRequest], RequestOutcome]] = {
    RequestKind.PASSWORD: process_password_request,
    RequestKind.USERNAME: process_username_request,
}


def recovery_requests_process(*, limit: int = 100) -> int:
    """Process up to `limit` pending requests, oldest first; return how many were processed."""
    pending = RecoveryRequest.objects.filter(processed_at__isnull=True).order_by("pk")
    done = 0
    for pk in pending.values_list("pk", flat=True)[:limit]:
        done += recovery_request_process(pk=pk)
    return done


@transaction.atomic
def recovery_request_process(*, pk: int) -> int:
    """Process one request exactly once, even with several workers; return 1 if this call did."""
    # Claiming by conditional update: a second worker blocks on the row, then finds it taken.
    if not RecoveryRequest.objects.filter(pk=pk, processed_at__isnull=True).update(
        processed_at=clock.now()
    ):
        return 0
    request = RecoveryRequest.objects.get(pk=pk)
    request.outcome = HANDLERS[request.kind](request)
    request.identifier = ""  # the digest is enough from now on (data minimisation)
    request.save(update_fields=["outcome", "identifier", "user"])
    return 1
