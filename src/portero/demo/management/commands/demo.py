"""`portero demo`: everything on one machine with no outside service.

SQLite under ./var, a local SMTP server on loopback whose mail is readable at /demo/correo/,
the worker and the web server, all stopped together by Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from portero.accounts.models import User
from portero.accounts.services import user_create

DEMO_PASSWORD = "secop-demo-clave-2026"  # noqa: S105  printed at start; exists only in demo mode (LI5)
DEMO_USERS = [
    # username, e-mail, full name, has a password
    ("gongoragabriela", "gabriela.gongora@example.com", "Gabriela Góngora", True),
    ("gongora.compras", "gabriela.gongora@example.com", "Gabriela Góngora (compras)", True),
    ("proveedor.nuevo", "proveedor.nuevo@example.com", "Proveedor Nuevo S.A.S.", False),
]


def demo_users_create() -> list[str]:
    """Create the demo accounts that do not exist yet; return their usernames."""
    created = []
    for username, email, full_name, has_password in DEMO_USERS:
        if not User.objects.filter(username__lower=username).exists():
            user_create(username=username, email=email, full_name=full_name,
                        password=DEMO_PASSWORD if has_password else None, via="demo")
            created.append(username)
    return created


class Command(BaseCommand):
    help = "Run the demo: web server, worker and a local SMTP inbox, on SQLite."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO or settings.PORTERO_DEMO_MAILDIR is None:
            raise CommandError("portero demo runs only with PORTERO_ENV=demo")
        call_command("migrate", interactive=False, verbosity=0)
        demo_users_create()
        smtp = Controller(Mailbox(settings.PORTERO_DEMO_MAILDIR), hostname="127.0.0.1",
                          port=settings.PORTERO_DEMO_SMTP_PORT)
        smtp.start()
        children = [self._spawn("worker"), self._spawn("serve")]
        self._banner()
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                if any(child.poll() is not None for child in children):
                    self.stderr.write("A demo process stopped (is port 8000 or 8025 taken?).")
                    break
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
            smtp.stop()
            self.stdout.write("Demo stopped.")

    def _spawn(self, command: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PORTERO_ENV": "demo", "PORTERO_VAR_DIR": str(settings.VAR_DIR)}
        # Own session: Ctrl-C reaches only this process, which stops the children gracefully
        # (SIGTERM lets gunicorn finish the requests in flight).
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "portero.cli", command], env=env, start_new_session=True
        )

    def _banner(self) -> None:
        base = settings.PORTERO_BASE_URL
        self.stdout.write(
            f"\nPortero demo ({settings.PORTERO_SITE_NAME}) is running.\n"
            f"  Sign in:      {base}/ingresar/\n"
            f"  Demo inbox:   {base}/demo/correo/\n"
            f"  Users:        gongoragabriela and gongora.compras (one shared e-mail),\n"
            f"                password {DEMO_PASSWORD}\n"
            f"                proveedor.nuevo (no password yet: activate it with "
            f"'¿Olvidó su contraseña?')\n"
            f"  SMTP inbox:   127.0.0.1:{settings.PORTERO_DEMO_SMTP_PORT}\n"
            f"Press Ctrl-C to stop.\n"
        )
