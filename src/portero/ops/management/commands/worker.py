"""`portero worker`: send the outbox until SIGINT or SIGTERM."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from portero.worker import Worker


class Command(BaseCommand):
    help = "Process recovery requests and send queued e-mail until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Handle what is due, then exit.")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        if settings.PORTERO_WORKER_NICE:
            os.nice(settings.PORTERO_WORKER_NICE)  # the web server's requests come first
        worker = Worker()
        if once:
            self.stdout.write(f"handled {worker.drain()} item(s)")
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        worker.run(stop)
