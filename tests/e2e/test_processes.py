"""The journeys as a newcomer and an operator run them: real processes, HTTP, SMTP."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.e2e.conftest import Browser, pipe_output, portero_process
from tests.helpers import link_in
from tests.processes import database_url, free_port, wait_until_serving

NEW = "una clave nueva para el demo"


def _wait_for(predicate, seconds: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


# The demo users have chosen no language: the e-mail speaks the language of the page it was
# asked from, as the pages speak the browser's.
@pytest.mark.parametrize(
    "language,subject,new_password_label",
    [
        ("es-CO", "SECOP II – Recuperación de Contraseña", "Nueva contraseña"),
        ("en", "SECOP II – Password Recovery", "New password"),
    ],
)
def test_demo_journey_from_sign_in_to_new_password(
    tmp_path: Path, language, subject, new_password_label
):
    web, smtp = free_port(), free_port()
    base = f"http://127.0.0.1:{web}"
    env = {
        "PORTERO_VAR_DIR": str(tmp_path),
        "PORTERO_BIND": f"127.0.0.1:{web}",
        "PORTERO_BASE_URL": base,
        "PORTERO_DEMO_SMTP_PORT": str(smtp),
        "PORTERO_DEMO_PORTAL_PORT": str(free_port()),
        "PORTERO_WORKER_POLL_SECONDS": "0.2",
    }
    with portero_process("demo", env=env) as demo:
        wait_until_serving(f"{base}/ingresar/", demo, pipe_output(demo))
        browser = Browser(base, language)
        _, signed_in = browser.submit(
            "/ingresar/", {"username": "gongoragabriela", "password": "secop-demo-clave-2026"}
        )
        assert "gongoragabriela" in signed_in

        reader = Browser(base, language)  # reading mail on another device
        url, _ = reader.submit("/recuperar/contrasena/", {"username": "gongoragabriela"})
        assert url.endswith("/recuperar/contrasena/enviado/")
        inbox = _wait_for(
            lambda: re.findall(r'href="/demo/correo/([^"/]+)/"', reader.get("/demo/correo/")[1])
        )
        _, message = reader.get(f"/demo/correo/{inbox[0]}/")
        assert subject in message
        link = re.search(rf'href="{re.escape(base)}(/restablecer/[^"]+)"', message)
        assert link, "no link in the e-mail"
        url, page = reader.get(link.group(1))
        assert url.endswith("/restablecer/") and new_password_label in page
        url, _ = reader.submit("/restablecer/", {"new_password1": NEW, "new_password2": NEW})
        assert url.endswith("/restablecer/listo/")

        url, home = Browser(base, language).submit(
            "/ingresar/", {"username": "gongoragabriela", "password": NEW}
        )
        assert url.endswith("/cuenta/") and "gongoragabriela" in home
        assert browser.get("/cuenta/")[0].endswith("/ingresar/?next=/cuenta/")  # SE3
    assert demo.returncode == 0  # Ctrl-C is the normal way to stop the demo
    output = demo.stdout.read() if demo.stdout else ""
    assert "Demo stopped." in output and "Traceback" not in output


@pytest.mark.django_db(transaction=True)
def test_serve_and_worker_against_the_configured_database_and_smtp(tmp_path, mailbox, user):
    """The production pair, pointed by DATABASE_URL and EMAIL_URL at the test's services."""
    web = free_port()
    base = f"http://127.0.0.1:{web}"
    env = {
        "PORTERO_ENV": "development",
        "PORTERO_VAR_DIR": str(tmp_path),
        "PORTERO_SECRET_KEY": settings.SECRET_KEY,
        "PORTERO_BASE_URL": base,
        "PORTERO_BIND": f"127.0.0.1:{web}",
        "DATABASE_URL": database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{settings.EMAIL_PORT}",
        "PORTERO_WORKER_POLL_SECONDS": "0.2",
    }
    with portero_process("serve", env=env) as server, portero_process("worker", env=env) as worker:
        wait_until_serving(f"{base}/ingresar/", server, pipe_output(server))
        browser = Browser(base)
        browser.submit("/recuperar/contrasena/", {"username": "gongoragabriela"})
        _wait_for(lambda: mailbox.messages)
        # Under a burst the web server's requests get the CPU first (PORTERO_WORKER_NICE).
        niceness = os.getpriority(os.PRIO_PROCESS, worker.pid)
        assert niceness - os.getpriority(os.PRIO_PROCESS, server.pid) == min(19 - os.nice(0), 10)
        url, _ = browser.get(link_in(mailbox.messages[0]))
        assert url.endswith("/restablecer/")  # the token left the address bar (TK3)
        url, _ = browser.submit("/restablecer/", {"new_password1": NEW, "new_password2": NEW})
        assert url.endswith("/restablecer/listo/")
    user.refresh_from_db()
    assert user.check_password(NEW)
