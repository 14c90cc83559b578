"""`portero worker`: send the outbox until SIGINT or SIGTERM, finishing the item in flight."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail.message import EmailMessage
from django.core.management.base import BaseCommand

from portero.mail.smtp import EmailBackend
from portero.ops import metrics
from portero.worker import Worker


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

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
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
        with contextlib.suppress(StopRequested):  # Worker.run closed its connections
            ServiceWorker(stop, observed).run(stop)
