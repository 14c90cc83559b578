"""`portero worker`: send the outbox until SIGINT or SIGTERM, finishing the item in flight."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail.message import EmailMessage
from django.core.management.base import BaseCommand, CommandError

from portero.mail.smtp import EmailBackend
from portero.ops import metrics
from portero.ops.startup import startup_objects_freeze
from portero.worker import Worker

log = logging.getLogger("portero.worker")


# One process: it drains a reset request and its e-mail in about 6 ms of CPU. On cores shared
# with the web server a second one takes its CPU from the web side and does not drain faster
# (bench/README.md); more help when the worker has cores of its own, or waits on a slow relay.
# Each more process is one more connection to the database.
DEFAULT_PROCESSES = 1


def supervise(processes: int) -> int:
    """Run `processes` workers as child processes until SIGINT or SIGTERM; return the exit
    status. Each child claims its own rows (leases, SKIP LOCKED), exactly as separate
    `portero worker` commands would; a stop request is passed on to every child, which
    finishes the message in flight. A child that dies stops the others: the service manager
    restarts the whole."""
    children = [_child(n) for n in range(processes)]
    stopping = threading.Event()

    def stop(*_: Any) -> None:
        stopping.set()
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    log.info("started %s worker processes: %s", processes, ", ".join(str(c.pid) for c in children))
    status = 0
    while any(c.poll() is None for c in children):
        for child in children:
            if child.poll() not in (None, 0) and not stopping.is_set():
                log.error(
                    "worker process %s exited with %s; stopping the others",
                    child.pid,
                    child.returncode,
                )
                status = child.returncode or 1
                stop()
        time.sleep(0.2)
    return status or max(c.returncode or 0 for c in children)


def _child(number: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if settings.PORTERO_METRICS_BIND:  # child n answers on port + 1 + n
        host, port = metrics.metrics_address(settings.PORTERO_METRICS_BIND)
        env["PORTERO_METRICS_BIND"] = f"{host}:{port + number}"
    return subprocess.Popen(  # this interpreter, our own command
        [sys.executable, "-m", "portero.cli", "worker"], env=env
    )


class StopRequested(BaseException):
    """Raised before the next message goes once a stop was asked for.

    A BaseException, so that no "one bad message must not stop the mail" handler takes it for
    a failed delivery: the message in flight is finished and recorded, the next one is not
    begun (it keeps its lease and is sent once the lease ends, by this worker or another).
    """


class StoppableEmailBackend(EmailBackend):
    """The worker's SMTP connection, which refuses to begin a message after a stop request."""

    def __init__(self, stop: threading.Event, **kwargs: Any) -> None:
        super().__init__(fail_silently=False, **kwargs)
        self.stop = stop

    def open(self) -> bool | None:
        if self.stop.is_set():
            raise StopRequested
        return super().open()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if self.stop.is_set():
            raise StopRequested
        return super().send_messages(email_messages)


class ServiceWorker(Worker):
    """The worker loop as `portero worker` runs it: stoppable, with its heartbeat."""

    def __init__(self, stop: threading.Event, observed: metrics.WorkerMetrics | None) -> None:
        super().__init__()
        self.smtp = StoppableEmailBackend(stop)
        self.observed = observed

    def run_once(self) -> int:
        handled = 0
        try:
            handled = super().run_once()
        finally:
            if self.observed is not None:
                self.observed.round_done(handled)
        return handled


class Command(BaseCommand):
    help = "Process recovery requests and send queued e-mail until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Handle what is due, then exit.")
        parser.add_argument(
            "--processes",
            type=int,
            default=DEFAULT_PROCESSES,
            metavar="N",
            help=f"Worker processes to run (default {DEFAULT_PROCESSES}; more for a worker "
            "with cores of its own or a slow relay, see docs/operations.md).",
        )

    def handle(
        self, *args: Any, once: bool = False, processes: int = DEFAULT_PROCESSES, **options: Any
    ) -> None:
        if processes < 1:
            raise CommandError("--processes must be at least 1")
        if processes > 1 and not once:
            sys.exit(supervise(processes))
        if settings.PORTERO_WORKER_NICE:
            os.nice(settings.PORTERO_WORKER_NICE)  # the web server's requests come first
        stop = threading.Event()
        if once:
            self.stdout.write(f"handled {ServiceWorker(stop, None).drain()} item(s)")
            return
        observed = None
        if settings.PORTERO_METRICS_BIND:
            observed = metrics.worker_metrics_start(settings.PORTERO_METRICS_BIND)
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Only a flag: the SMTP exchange or the transaction under way runs to its end.
            signal.signal(sig, lambda *_: stop.set())
        startup_objects_freeze()  # a loop that runs for days; `--once` exits before it matters
        with contextlib.suppress(StopRequested):  # Worker.run closed its connections
            ServiceWorker(stop, observed).run(stop)
