"""`portero worker`: process recovery requests, then send the outbox, until told to stop."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from portero.accounts.throttle import throttles_purge
from portero.core.ratelimit import counters_purge
from portero.mail.delivery import emails_deliver_due
from portero.mail.smtp import EmailBackend
from portero.recovery.processing import recovery_requests_process
from portero.recovery.services import recovery_history_purge

log = logging.getLogger(__name__)


HOUSEKEEPING_SECONDS = 300  # how often expired counters, throttles and old history are deleted


class Worker:
    """One loop; run as many as you like (rows are claimed, never shared)."""

    def __init__(self) -> None:
        # Always real SMTP with the EMAIL_* settings (test runners swap EMAIL_BACKEND out).
        self.smtp = EmailBackend(fail_silently=False)
        self._housekeeping_at = 0.0

    def run_once(self) -> int:
        """Do whatever is due now; return how many items were handled."""
        self._housekeeping()
        return recovery_requests_process() + emails_deliver_due(connection=self.smtp)

    def _housekeeping(self) -> None:
        if time.monotonic() - self._housekeeping_at >= HOUSEKEEPING_SECONDS:
            counters_purge()
            throttles_purge()
            recovery_history_purge()
            self._housekeeping_at = time.monotonic()

    def drain(self, *, max_rounds: int = 100) -> int:
        """Run until nothing is due (for tests and the demo); return the items handled."""
        total = 0
        for _ in range(max_rounds):
            handled = self.run_once()
            total += handled
            if not handled:
                break
        self.smtp.close()
        return total

    def run(self, stop: threading.Event) -> None:
        """Loop until `stop` is set; sleep only when idle, closing the SMTP connection then."""
        log.info("worker started (poll every %ss)", settings.PORTERO_WORKER_POLL_SECONDS)
        try:
            while not stop.is_set():
                handled = self._guarded_round()
                if not handled:
                    self.smtp.close()
                    stop.wait(settings.PORTERO_WORKER_POLL_SECONDS)
        finally:
            self.smtp.close()
            connection.close()
            log.info("worker stopped")

    def _guarded_round(self) -> int:
        close_old_connections()
        try:
            return self.run_once()
        except DatabaseError:
            # The database may be restarting: nothing is lost, the rows wait for us.
            log.exception("worker round failed; retrying after the poll interval")
            connection.close()
            return 0
