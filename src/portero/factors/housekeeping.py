"""What the worker does now and then for second factors."""

from __future__ import annotations

from portero.core import clock
from portero.factors.assisted import PENDING, assisted_recovery_complete
from portero.factors.models import AssistedRecovery


def assisted_recoveries_complete_due() -> int:
    """Complete every assisted recovery whose wait is over (MF4); return how many this call
    did (another worker may complete some first: each is completed once)."""
    due = AssistedRecovery.objects.filter(state=PENDING, due_at__lte=clock.now())
    return sum(
        assisted_recovery_complete(recovery_id=pk) for pk in due.values_list("pk", flat=True)
    )
