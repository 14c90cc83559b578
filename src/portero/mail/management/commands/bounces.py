"""`portero bounces`: receive delivery reports for the VERP addresses until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portero.mail.bounce_server import BounceController

log = logging.getLogger("portero.bounces")


class Command(BaseCommand):
    help = (
        "Run the SMTP server that bounces come back to (PORTERO_BOUNCE_BIND): it records each "
        "delivery report on its message, and flags the account's address after a hard "
        "bounce (docs/mail.md)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.PORTERO_BOUNCE_ADDRESS:
            raise CommandError(
                "PORTERO_BOUNCE_ADDRESS is not set: messages carry no bounce "
                "address, so there is nothing to receive (docs/mail.md)."
            )
        host, _, port = settings.PORTERO_BOUNCE_BIND.rpartition(":")
        controller = BounceController(host.strip("[]"), int(port))
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        controller.start()
        log.info(
            "bounces: receiving for %s on %s",
            settings.PORTERO_BOUNCE_ADDRESS,
            settings.PORTERO_BOUNCE_BIND,
        )
        self.stdout.write(
            f"receiving bounces for {settings.PORTERO_BOUNCE_ADDRESS} on "
            f"{settings.PORTERO_BOUNCE_BIND}"
        )
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
