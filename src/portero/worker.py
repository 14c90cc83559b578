"""`portero worker`: process recovery requests, send the outbox (e-mail and back-channel logout
tokens) and seal the audit trail, until told to stop."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import psycopg
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection

from portero.accounts.services import sessions_purge_expired
from portero.accounts.throttle import throttles_purge
from portero.audit.chain import HeadMissing
from portero.audit.checkpoints import CheckpointSchedule
from portero.audit.services import events_seal
from portero.core.ratelimit import counters_purge
from portero.core.work_notify import CHANNEL as WORK_CHANNEL
from portero.core.write_lock import HELD, wal_checkpoint
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
        self._checkpoints = CheckpointSchedule()
        self._head_missing_said_at: float | None = None
        self._database_down = False

    def run_once(self) -> int:
        """Do whatever is due now; return how many items were handled."""
        wal_checkpoint()  # what the last round and the web requests wrote, before this one
        self._housekeeping()
        # First, and guarded: a failing stage below must not leave web requests' audit rows
        # unsealed, and a failing seal must not stop the mail.
        sealed = self._seal()
        handled = sealed + recovery_requests_process() + emails_deliver_due(connection=self.smtp)
        # Guarded too: however a portal answers, e-mail keeps flowing.
        try:
            handled += logouts_deliver_due()
        except (OperationalError, InterfaceError):
            raise  # the database, not a portal: the whole round waits
        except Exception:
            log.exception("delivering back-channel logouts failed; trying again next round")
        return handled

    def _seal(self) -> int:
        """Seal the audit rows waiting, then write a checkpoint if one is due."""
        try:
            sealed = events_seal()
        except (OperationalError, InterfaceError):
            raise  # the database is unreachable: the whole round waits (_guarded_round)
        except DatabaseError:
            log.exception("sealing the audit trail failed; trying again next round")
            return 0
        except HeadMissing as problem:  # an alarm, not a crash: said every 5 minutes
            if (
                self._head_missing_said_at is None
                or time.monotonic() - self._head_missing_said_at >= HOUSEKEEPING_SECONDS
            ):
                log.error("%s; audit rows wait unsealed: run `portero audit verify`", problem)
                self._head_missing_said_at = time.monotonic()
            return 0
        try:
            self._checkpoints.run()
        except (OperationalError, InterfaceError):
            raise
        except (OSError, DatabaseError):
            log.exception(
                "writing the audit checkpoint to %s failed; trying again next round",
                settings.PORTERO_AUDIT_CHECKPOINT_FILE,
            )
        return sealed

    def _housekeeping(self) -> None:
        if time.monotonic() - self._housekeeping_at >= HOUSEKEEPING_SECONDS:
            counters_purge()
            throttles_purge()
            recovery_history_purge()
            sessions_purge_expired()
            federation_history_purge()
            if self._housekeeping_at:
                log.info("since start: %s", HELD.summary())
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
        """Loop until `stop` is set; sleep only when idle, closing the SMTP and database
        connections then.

        While there is work both stay open from one round to the next (opening a database
        connection for every round cost more than some rounds' work); a connection that
        failed is dropped at once (`_guarded_round`), and the next round opens a new one.
        """
        log.info("worker started (poll every %ss)", settings.PORTERO_WORKER_POLL_SECONDS)
        try:
            while not stop.is_set():
                handled = self._guarded_round()
                if not handled:
                    self.smtp.close()
                    self._connection_drop()
                    self._idle(stop)
        finally:
            self.smtp.close()
            self._listen_stop()
            connection.close()
            log.info("worker stopped; %s", HELD.summary())

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
            # Its own connection: Django's is closed whenever the worker finds nothing to do.
            self._listener = psycopg.connect(**connection.get_connection_params(), autocommit=True)
            self._listener.execute(f"LISTEN {WORK_CHANNEL}")
        except psycopg.Error:
            if not self._database_down:  # said once already, as "database unavailable"
                log.warning("cannot LISTEN for new work; polling instead")
            self._listen_stop()
        return self._listener

    def _listen_stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _guarded_round(self) -> int:
        try:
            handled = self.run_once()
        except (OperationalError, InterfaceError) as problem:
            # The database is down or restarting: nothing is lost, the rows wait for us. One
            # line when it goes, one when it is back; not a traceback every poll interval.
            if not self._database_down:
                log.warning(
                    "database unavailable (%s); retrying every %ss",
                    str(problem).strip().splitlines()[0]
                    if str(problem).strip()
                    else type(problem).__name__,
                    settings.PORTERO_WORKER_POLL_SECONDS,
                )
                self._database_down = True
            self._connection_drop()
            return 0
        except DatabaseError:
            log.exception("worker round failed; retrying after the poll interval")
            self._connection_drop()
            return 0
        except Exception:  # one bad row must never stop all mail
            log.exception("worker round failed; carrying on after the poll interval")
            self._connection_drop()
            return 0
        if self._database_down:
            log.warning("database reachable again; carrying on")
            self._database_down = False
        return handled

    def _connection_drop(self) -> None:
        """Close the database connection, which may be broken, so the next round opens one."""
        with contextlib.suppress(DatabaseError):
            connection.close()
