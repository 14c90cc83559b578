"""Issue 15, "Nothing lost, nothing twice": the database goes down under load and comes back.

A real `portero serve` and `portero worker` on a throw-away PostgreSQL cluster that this test
starts, stops (immediately, as a crash does) and starts again: pages answer a Spanish 503
with Retry-After, never a 500 or a dropped connection; the worker waits; when the database is
back everything recovers without a restart, and every request accepted is mailed.
"""

from __future__ import annotations

import http.client
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

from django.conf import settings

from tests.conftest import SMTPSink
from tests.pg_cluster import ThrowawayCluster, require_postgres_bin
from tests.processes import PorteroProcess, child_env, free_port, wait_until_serving


class FormClient:
    """One browser: its cookies and the form token, one connection per request."""

    def __init__(self, port: int) -> None:
        self.port, self.token = port, ""
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        headers = {
            "Accept-Language": "es-CO",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        data = None
        if body is not None:
            data = urllib.parse.urlencode({**body, "csrfmiddlewaretoken": self.token})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
        finally:
            conn.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, dict(response.headers), text

    def open_form(self, path: str) -> None:
        status, _, html = self.request("GET", path)
        assert status == 200, status
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert found, html[:500]
        self.token = found.group(1)

    def forgot_password(self, username: str) -> tuple[int, dict[str, str], str]:
        return self.request("POST", "/recuperar/contrasena/", {"username": username})


def _wait_for(predicate, seconds: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} within {seconds}s")


class Load(threading.Thread):
    """Pages and form posts, one after another, until stopped; every answer counted."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.client, self.stop = FormClient(port), threading.Event()
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self.unavailable_pages: list[tuple[dict[str, str], str]] = []

    def run(self) -> None:
        self.client.open_form("/recuperar/contrasena/")
        while not self.stop.is_set():
            for method, path, body in (
                ("GET", "/ingresar/", None),
                ("POST", "/recuperar/contrasena/", {"username": "nadie"}),
                ("GET", "/salud/listo", None),
            ):
                try:
                    status, headers, text = self.client.request(method, path, body)
                except (OSError, http.client.HTTPException) as problem:
                    self.failures.append(f"{method} {path}: {problem!r}")
                    continue
                self.statuses[status] += 1
                if status == 503 and path != "/salud/listo":
                    self.unavailable_pages.append((headers, text))


def _portero(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "portero.cli", *args],
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_database_down_gets_503_the_worker_waits_and_all_recovers_without_a_restart(
    tmp_path: Path, smtp_server: tuple[SMTPSink, int]
):
    sink, smtp_port = smtp_server
    sink.clear()
    cluster = ThrowawayCluster(require_postgres_bin()).create()
    web = free_port()
    audit_key = tmp_path / "audit-key"
    audit_key.write_text(secrets.token_hex(32))
    audit_key.chmod(0o600)
    # Production settings, as deployed (no debug pages); plain HTTP on loopback, as the TLS
    # proxy in front would speak to it.
    env = {
        "PORTERO_ENV": "production",
        "PORTERO_VAR_DIR": str(tmp_path),
        "PORTERO_SECRET_KEY": settings.SECRET_KEY,
        "PORTERO_AUDIT_KEY_FILE": str(audit_key),
        "PORTERO_BASE_URL": f"https://127.0.0.1:{web}",
        "PORTERO_EXTRA_HOSTS": "127.0.0.1",
        "PORTERO_BIND": f"127.0.0.1:{web}",
        "DATABASE_URL": cluster.url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PORTERO_WORKER_POLL_SECONDS": "0.2",
        "PORTERO_WORKER_NICE": "0",
        "PORTERO_WEB_WORKERS": "2",
        "PORTERO_RATE_LIMITS": "off",
    }  # the load comes from one address
    serve = PorteroProcess(("serve",), env, tmp_path / "serve.log")
    worker = PorteroProcess(("worker",), env, tmp_path / "worker.log")
    load = Load(web)
    try:
        _portero(env, "migrate", "--no-input")
        _portero(
            env,
            "createuser",
            "--username",
            "gongoragabriela",
            "--email",
            "gabriela@example.com",
            "--no-password",
        )
        serve.start()
        worker.start()
        assert serve.popen and worker.popen
        wait_until_serving(f"http://127.0.0.1:{web}/salud/listo", serve.popen, serve.output)
        person = FormClient(web)
        person.open_form("/recuperar/contrasena/")
        assert person.forgot_password("gongoragabriela")[0] == 302
        _wait_for(lambda: len(sink.messages) == 1, 20, "the first e-mail")
        load.start()
        _wait_for(lambda: load.statuses[200] >= 6, 20, "load before the outage")

        cluster.stop()
        # Accepted just before? Its row is committed; it waits, as this one is refused:
        status, headers, html = person.forgot_password("gongoragabriela")
        assert status == 503 and headers["Retry-After"] == "30", (status, html[:300])
        assert "El servicio no está disponible en este momento" in html
        assert "Traceback" not in html and "5432" not in html and str(cluster.port) not in html
        _wait_for(lambda: len(load.unavailable_pages) >= 3, 20, "503s under load")
        time.sleep(1)  # a few worker rounds with the database gone
        assert worker.popen.poll() is None, worker.output()

        cluster.start()
        _wait_for(
            lambda: person.request("GET", "/salud/listo")[0] == 200,
            30,
            "ready again without a restart",
        )
        assert person.forgot_password("gongoragabriela")[0] == 302
        _wait_for(lambda: len(sink.messages) == 2, 30, "the worker resumed and mailed it")
        served_after = load.statuses[200]
        _wait_for(lambda: load.statuses[200] >= served_after + 6, 20, "load after the outage")
    finally:
        load.stop.set()
        load.join(30)
        serve.stop()
        worker.stop()
        cluster.destroy()

    assert load.failures == [], load.failures[:5]  # no dropped connection, ever
    assert load.statuses[500] == 0 and set(load.statuses) <= {200, 302, 503}, load.statuses
    for headers, html in load.unavailable_pages:
        assert headers["Retry-After"] == "30" and "no está disponible" in html
    assert [m["To"] for m in sink.messages] == ["gabriela@example.com"] * 2
    serve_log, worker_log = serve.log.read_text(), worker.log.read_text()
    assert serve_log.count("Booting worker") == 2  # no web worker died and was replaced
    assert worker_log.count("database unavailable") == 1, worker_log[-3000:]
    assert "database reachable again" in worker_log
    assert "Traceback" not in worker_log
    # The only traceback the web server may log is gunicorn's own when the test stops it in the
    # middle of writing a response (its quit handler raises SystemExit there): not an outage's.
    tracebacks = serve_log.split("Traceback (most recent call last):")[1:]
    assert all("in handle_quit" in trace for trace in tracebacks), serve_log[-3000:]
