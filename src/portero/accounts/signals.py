"""The accounts app's signals."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that ends signed-in sessions, whatever the cause (sign-out,
# "close the other sessions", a new password, the help desk, expiry), with `user`, `sids` (the
# ended sessions' `SessionRecord.sid`) and `reason`. portero.federation ends them at the
# portals (OI6).
sessions_ended = Signal()
