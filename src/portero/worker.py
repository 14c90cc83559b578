"""`portero worker`: process recovery requests, send the outbox (e-mail and back-channel logout
tokens) and seal the audit trail, until told to stop."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from portero.accounts.services import sessions_purge_expired
from portero.accounts.throttle import throttles_purge
from portero.audit.services import events_seal
from portero.core.ratelimit import counters_purge
from portero.core.work_notify import CHANNEL as WORK_CHANNEL
from portero.factors.housekeeping import assisted_recoveries_complete_due
from portero.federation.housekeeping import federation_history_purge
from portero.federation.logout import logouts_deliver_due
from portero.mail.delivery import emails_deliver_due
from portero.mail.smtp import EmailBackend
from portero.recovery.processing import recovery_requests_process
from portero.recovery.services import recovery_history_purge

log = logging.getLogger(__name__)


HOUSEKEEPING_SECONDS = 300  # how often expired counters, sessions and old history are deleted,
# and due assisted recoveries completed (MF4: minutes late at most, after a wait of days)


class Worker:
    """One loop; run as many as you like (rows are claimed, never shared)."""

    def __init__(self) -> None:
        # Always real SMTP with the EMAIL_* settings (test runners swap EMAIL_BACKEND out).
        self.smtp = EmailBackend(fail_silently=False)
        self._housekeeping_at = 0.0
        self._listener: Any = None  # a psycopg connection LISTENing on PostgreSQL, else None

    def run_once(self) -> int:
        """Do whatever is due now; return how many items were handled."""
        self._housekeeping()
        # First, and guarded: a failing stage below must not leave web requests' audit rows
        # unsealed, and a failing seal must not stop the mail.
        try:
            sealed = events_seal()
        except DatabaseError:
            log.exception("sealing the audit trail failed; trying again next round")
            sealed = 0
        handled = sealed + recovery_requests_process() + emails_deliver_due(connection=self.smtp)
        # Guarded too: however a portal answers, e-mail keeps flowing.
        try:
            handled += logouts_deliver_due()
        except Exception:
            log.exception("delivering back-channel logouts failed; trying again next round")
        return handled

    def _housekeeping(self) -> None:
        if time.monotonic() - self._housekeeping_at >= HOUSEKEEPING_SECONDS:
            counters_purge()
            throttles_purge()
            recovery_history_purge()
            sessions_purge_expired()
            federation_history_purge()
            assisted_recoveries_complete_due()
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
                    self._idle(stop)
        finally:
            self.smtp.close()
            self._listen_stop()
            connection.close()
            log.info("worker stopped")

    def _idle(self, stop: threading.Event) -> None:
        """Sleep until a NOTIFY says there is work (PostgreSQL) or the poll interval ends."""
        poll = settings.PORTERO_WORKER_POLL_SECONDS
        listener = self._listen_start()
        if listener is None:
            stop.wait(poll)
            return
        try:
            # Wakes on the first notification; the poll interval still bounds the wait, so a
            # lost notification (or a stop request) costs no more than polling did.
            for _ in listener.notifies(timeout=poll, stop_after=1):
                pass
        except psycopg.Error:
            log.warning("LISTEN connection lost; polling until it is back")
            self._listen_stop()
            stop.wait(poll)

    def _listen_start(self) -> Any:
        """Return a connection LISTENing for new work, or None (SQLite, or not reachable)."""
        if self._listener is not None or connection.vendor != "postgresql":
            return self._listener
        try:
            # Its own connection: Django's closes after every round (CONN_MAX_AGE = 0).
            self._listener = psycopg.connect(**connection.get_connection_params(),
                                             autocommit=True)
            self._listener.execute(f"LISTEN {WORK_CHANNEL}")
        except psycopg.Error:
            log.warning("cannot LISTEN for new work; polling instead")
            self._listen_stop()
        return self._listener

    def _listen_stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _guarded_round(self) -> int:
        close_old_connections()
        try:
            return self.run_once()
        except DatabaseError:
            # The database may be restarting: nothing is lost, the rows wait for us.
            log.exception("worker round failed; retrying after the poll interval")
            connection.close()
            return 0
        except Exception:  # one bad row must never stop all mail
            log.exception("worker round failed; carrying on after the poll interval")
            connection.close()
            return 0
