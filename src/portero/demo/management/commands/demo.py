"""`portero demo`: everything on one machine with no outside service.

SQLite under ./var, a local SMTP server on loopback whose mail is readable at /demo/correo/,
the worker, the web server and a demo portal that signs in through Portero, all stopped
together by Ctrl-C.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gunicorn
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portero.accounts.models import User
from portero.accounts.services import user_create, user_grant_role
from portero.federation.clients import (
    client_add,
    client_remove,
    client_rotate_secret,
    clients_list,
)
from portero.federation.keys import keyring
from portero.organizations.models import Organization, Role
from portero.organizations.services import membership_import, organization_register

DEMO_PASSWORD = "secop-demo-clave-2026"  # noqa: S105  printed at start; exists only in demo mode (LI5)
DEMO_USERS = [
    # username, e-mail, full name, has a password
    ("gongoragabriela", "gabriela.gongora@example.com", "Gabriela Góngora", True),
    ("gongora.compras", "gabriela.gongora@example.com", "Gabriela Góngora (compras)", True),
    ("proveedor.nuevo", "proveedor.nuevo@example.com", "Proveedor Nuevo S.A.S.", False),
]
# Two SECOP accounts: gongora.compras acts for both (the company selector shows),
# gongoragabriela for the entity only (chosen silently), proveedor.nuevo for none.
DEMO_ORGANIZATIONS = [
    # NIT (stored form), kind, name, city, administrator, other accepted users
    (
        "8911800091",
        "entidad",
        "Alcaldía de Villa del Rosario (demo)",
        "Villa del Rosario",
        "gongoragabriela",
        ["gongora.compras"],
    ),
    (
        "9007771237",
        "proveedor",
        "Suministros Góngora S.A.S. (demo)",
        "Cúcuta",
        "gongora.compras",
        [],
    ),
]
# A Mesa de Servicio supervisor, to try the console (/mesa/).
DEMO_AGENT = ("mesa.supervisora", "mesa.supervisora@example.com", "Supervisora de la Mesa")

PORTAL_NAME = "Portal de contratación (demo)"
PORTAL_SETTINGS = "portero.demo.portal.settings"
PORTAL_WSGI = "portero.demo.portal.wsgi:application"
PORTAL_CREDENTIALS_FILE = "demo-portal.json"  # under VAR_DIR
PORTAL_DATABASE_FILE = "demo-portal.sqlite3"  # under VAR_DIR


def demo_users_create() -> list[str]:
    """Create the demo accounts that do not exist yet; return their usernames."""
    created = []
    for username, email, full_name, has_password in DEMO_USERS:
        if not User.objects.filter(username__lower=username).exists():
            user_create(
                username=username,
                email=email,
                full_name=full_name,
                password=DEMO_PASSWORD if has_password else None,
                via="demo",
            )
            created.append(username)
    username, email, full_name = DEMO_AGENT
    if not User.objects.filter(username__lower=username).exists():
        with transaction.atomic():
            agent = user_create(
                username=username,
                email=email,
                full_name=full_name,
                password=DEMO_PASSWORD,
                is_staff=True,
                via="demo",
            )
            user_grant_role(user=agent, role="supervisor")
        created.append(username)
    demo_organizations_create()
    return created


def demo_organizations_create() -> None:
    """Register the demo organizations that do not exist yet, with their members."""
    for nit, kind, name, city, admin, users in DEMO_ORGANIZATIONS:
        if Organization.objects.filter(nit=nit, kind=kind).exists():
            continue
        with transaction.atomic():
            administrator = User.objects.get(username__lower=admin)
            organization = organization_register(
                user=administrator, kind=kind, name=name, nit=nit, city=city, client=None
            ).organization
            for username in users:
                membership_import(
                    user=User.objects.get(username__lower=username),
                    organization=organization,
                    role=Role.USER,
                )


@dataclass(frozen=True)
class PortalClient:
    """What the demo portal needs to run: its client credentials and its own secret key."""

    client_id: str
    client_secret: str
    secret_key: str


def portal_origin(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def portal_registration(port: int) -> dict[str, Any]:
    """Return the addresses Portero must know for the portal on `port`."""
    origin = portal_origin(port)
    return {
        "redirect_uris": [f"{origin}/auth/callback/"],
        "post_logout_redirect_uris": [f"{origin}/"],
        "backchannel_logout_uri": f"{origin}/auth/backchannel-logout/",
    }


def portal_client_ensure(*, path: Path, port: int) -> PortalClient:
    """Register the demo portal unless it already is, for this port; return its credentials.

    Portero shows a client secret only once, so they are kept in `path` (mode 0600). If that
    file is lost while the client exists, the secret is rotated: the old one is unknown.
    """
    wanted = portal_registration(port)
    existing = next((c for c in clients_list() if c["name"] == PORTAL_NAME), None)
    if existing is not None and not _registered_as(existing, wanted):
        client_remove(client_id=str(existing["client_id"]))  # another port than last time
        existing = None
    saved = _credentials_read(path)
    if existing is None:
        credentials = client_add(name=PORTAL_NAME, **wanted)
    elif saved is not None and saved.client_id == existing["client_id"]:
        return saved
    else:
        credentials = client_rotate_secret(client_id=str(existing["client_id"]))
    client = PortalClient(
        credentials.client_id, str(credentials.client_secret), secrets.token_urlsafe(50)
    )
    _credentials_write(path, client)
    return client


def _registered_as(client: dict[str, object], wanted: dict[str, Any]) -> bool:
    return all(client[key] == value for key, value in wanted.items())


def _credentials_read(path: Path) -> PortalClient | None:
    try:
        return PortalClient(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _credentials_write(path: Path, client: PortalClient) -> None:
    """Write the file whole, readable by its owner only, in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(client), handle, indent=1)
    partial.replace(path)


def portal_command(port: int) -> list[str]:
    """Return the command that serves the demo portal on `port` with gunicorn.

    One process, so that only one creates the portal's SQLite table as it starts; its threads
    serve the browser and Portero's back-channel logout POSTs at the same time.
    """
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "4",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
    ]
    if gunicorn.version_info >= (25, 1):
        # Since 25.1 every gunicorn opens a control socket at one path per user, which the
        # portal needs not and must not take from `portero serve`.
        command.append("--no-control-socket")
    return [*command, PORTAL_WSGI]


def portal_environment(
    *, client: PortalClient, issuer: str, port: int, database: Path
) -> dict[str, str]:
    """Return the portal's configuration: all it knows of Portero is the issuer URL."""
    return {
        "DJANGO_SETTINGS_MODULE": PORTAL_SETTINGS,
        "PORTAL_ISSUER": issuer,
        "PORTAL_CLIENT_ID": client.client_id,
        "PORTAL_CLIENT_SECRET": client.client_secret,
        "PORTAL_BASE_URL": portal_origin(port),
        "PORTAL_SECRET_KEY": client.secret_key,
        "PORTAL_DATABASE": str(database),
    }


class Command(BaseCommand):
    help = (
        "Run the demo: web server, worker, a local SMTP inbox and a demo portal that signs "
        "in through Portero, on SQLite."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO or settings.PORTERO_DEMO_MAILDIR is None:
            raise CommandError("portero demo runs only with PORTERO_ENV=demo")
        call_command("migrate", interactive=False, verbosity=0)
        demo_users_create()
        keyring().active()  # the signing key exists before any child process signs with it
        portal = portal_client_ensure(
            path=settings.VAR_DIR / PORTAL_CREDENTIALS_FILE, port=settings.PORTERO_DEMO_PORTAL_PORT
        )
        smtp = Controller(
            Mailbox(settings.PORTERO_DEMO_MAILDIR),
            hostname="127.0.0.1",
            port=settings.PORTERO_DEMO_SMTP_PORT,
        )
        smtp.start()
        children = [self._spawn("worker"), self._spawn("serve"), self._spawn_portal(portal)]
        self._banner()
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                if any(child.poll() is not None for child in children):
                    self.stderr.write(
                        f"A demo process stopped (is one of the ports {self._ports()} taken?)."
                    )
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

    def _spawn_portal(self, client: PortalClient) -> subprocess.Popen[bytes]:
        """Start the portal as an outside site: none of Portero's settings reach it."""
        port = settings.PORTERO_DEMO_PORTAL_PORT
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("PORTERO_", "DJANGO_"))
        }
        env = {
            **inherited,
            **portal_environment(
                client=client,
                issuer=settings.PORTERO_BASE_URL,
                port=port,
                database=settings.VAR_DIR / PORTAL_DATABASE_FILE,
            ),
        }
        return subprocess.Popen(  # noqa: S603
            portal_command(port),
            env=env,
            start_new_session=True,
        )

    def _ports(self) -> str:
        web = settings.PORTERO_BIND.rsplit(":", 1)[-1]
        return f"{web}, {settings.PORTERO_DEMO_PORTAL_PORT} and {settings.PORTERO_DEMO_SMTP_PORT}"

    def _banner(self) -> None:
        base = settings.PORTERO_BASE_URL
        portal = portal_origin(settings.PORTERO_DEMO_PORTAL_PORT)
        self.stdout.write(
            f"\nStart here: {portal}/\n"
            f"  {PORTAL_NAME}, a separate site: its 'Ingresar' signs in through Portero.\n"
            f"\nPortero demo ({settings.PORTERO_SITE_NAME}) is running.\n"
            f"  Sign in:      {base}/ingresar/\n"
            f"  Demo inbox:   {base}/demo/correo/\n"
            f"  Users:        gongoragabriela and gongora.compras (one shared e-mail),\n"
            f"                password {DEMO_PASSWORD}\n"
            f"                proveedor.nuevo (no password yet: activate it with "
            f"'¿Primera vez? Active su cuenta')\n"
            f"  Organizations: gongora.compras chooses between two at sign-in; "
            f"gongoragabriela acts for one\n"
            f"  Mesa de Servicio: {base}/mesa/ as {DEMO_AGENT[0]}, password {DEMO_PASSWORD}\n"
            f"  SMTP inbox:   127.0.0.1:{settings.PORTERO_DEMO_SMTP_PORT}\n"
            f"  Demo portal:  client {PORTAL_NAME!r}, credentials in "
            f"{settings.VAR_DIR / PORTAL_CREDENTIALS_FILE}\n"
            f"Press Ctrl-C to stop.\n"
        )
