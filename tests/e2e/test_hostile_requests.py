"""Malformed requests and token URLs against a real `portero serve`: every one answered, no
worker lost, and nothing secret or forged in any log (LG2, LG3)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import pipe_output, portero_process
from tests.processes import child_env, free_port, wait_until_serving

TOKEN = "A" * 22 + "." + "b" * 43  # the shape of a recovery link's token
MALFORMED = [
    # Django refuses this before any middleware; gunicorn then logs a request with no path.
    b"POST /ingresar/ HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain; charset*=bogus''x"
    b"\r\nContent-Length: 3\r\n\r\nabc",
    b"GET /ingresar/%0A10.6.6.6%20%22POST%20/mesa/%22%20302 HTTP/1.1\r\nHost: {host}\r\n\r\n",
    b"GET /ingresar/%00 HTTP/1.1\r\nHost: {host}\r\n\r\n",
    b"GET /%ff%fe HTTP/1.1\r\nHost: {host}\r\n\r\n",
    b"GET /ingresar/ HTTP/1.1\r\nHost: {host}\r\nAccept-Language: \xff\xfe\r\n\r\n",
    b"POST /recuperar/contrasena/ HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
    b"application/x-www-form-urlencoded; charset=nope\r\nContent-Length: 5\r\n\r\nu=%ff",
    b"GET /o/authorize/?client_id=%00&redirect_uri=%ff HTTP/1.1\r\nHost: {host}\r\n\r\n",
]
TOKEN_VARIANTS = [
    f"GET /restablecer/{TOKEN}/ HTTP/1.1",
    f"GET /restablecer/{TOKEN} HTTP/1.1",
    f"GET /restablecer/{TOKEN}/x/ HTTP/1.1",
    f"OPTIONS /restablecer/{TOKEN}/ HTTP/1.1",
    f"POST /restablecer/{TOKEN}/ HTTP/1.1",
    f"PUT /restablecer/{TOKEN}/ HTTP/1.1",
    f"GET /restablecer/{TOKEN.replace('.', '%2E')}/ HTTP/1.1",
]


def _exchange(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        chunks = []
        while True:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    web = free_port()
    env = {
        "PORTERO_ENV": "development",
        "PORTERO_VAR_DIR": str(tmp_path),
        "PORTERO_BASE_URL": f"http://127.0.0.1:{web}",
        "PORTERO_BIND": f"127.0.0.1:{web}",
        "PORTERO_WEB_WORKERS": "1",
        "EMAIL_URL": "smtp://127.0.0.1:1",
    }
    subprocess.run(
        [sys.executable, "-m", "portero.cli", "migrate", "-v0"], env=child_env(env), check=True
    )
    with portero_process("serve", env=env) as process:
        wait_until_serving(f"http://127.0.0.1:{web}/ingresar/", process, pipe_output(process))
        yield web, process


def test_malformed_requests_get_an_answer_and_no_worker_is_lost(server):
    port, process = server
    host = f"127.0.0.1:{port}".encode()
    for raw in MALFORMED:
        answer = _exchange(port, raw.replace(b"{host}", host) + b"")
        assert answer.startswith(b"HTTP/1.1 "), (raw, answer[:200])
        status = int(answer.split()[1])
        assert status < 500, (raw, answer[:300])
    for line in TOKEN_VARIANTS:
        raw = f"{line}\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n".encode()
        assert _exchange(port, raw).startswith(b"HTTP/1.1 ")
    process.send_signal(2)
    log = process.communicate(timeout=30)[0]
    assert log.count("Booting worker") == 1, log  # the one worker never died
    assert "Traceback" not in log, log
    assert TOKEN not in log and TOKEN.replace(".", "%2E") not in log  # LG2
    assert "[token]" in log
    forged = [line for line in log.splitlines() if line.startswith("10.6.6.6")]
    assert not forged, forged  # LG3: the %0A stayed inside its own line
    assert "\x00" not in log


def test_proxies_trusted_for_addresses_are_trusted_for_https_too(settings):
    from portero.ops.management.commands.serve import server_options

    settings.PORTERO_TRUSTED_PROXIES = ["10.0.0.1/8", "192.168.1.5"]  # as client_ip reads them
    assert server_options(bind="x", workers=1)["forwarded_allow_ips"] == (
        "10.0.0.0/8,192.168.1.5/32"
    )  # normalised: gunicorn refuses host bits in a network
    settings.PORTERO_TRUSTED_PROXIES = []
    assert server_options(bind="x", workers=1)["forwarded_allow_ips"] == "127.0.0.1,::1"


@pytest.mark.django_db(transaction=True)
def test_a_request_after_the_database_dropped_its_connections_is_served(tmp_path, user):
    """The first request of each web worker once PostgreSQL has ended its connections (a
    restart, a failover) reconnects instead of answering 500 (CONN_HEALTH_CHECKS)."""
    from django.db import connection

    from tests.processes import database_url

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server to drop connections")
    web = free_port()
    env = {
        "PORTERO_ENV": "development",
        "PORTERO_VAR_DIR": str(tmp_path),
        "PORTERO_BASE_URL": f"http://127.0.0.1:{web}",
        "PORTERO_BIND": f"127.0.0.1:{web}",
        "PORTERO_WEB_WORKERS": "1",
        "EMAIL_URL": "smtp://127.0.0.1:1",
        "DATABASE_URL": database_url(),
        "PGAPPNAME": "portero-dropped",
    }
    with portero_process("serve", env=env) as process:
        url = f"http://127.0.0.1:{web}/ingresar/"
        wait_until_serving(url, process, pipe_output(process))
        reads = (
            f"GET /o/authorize/?client_id=nadie&response_type=code HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{web}\r\nConnection: close\r\n\r\n"
        ).encode()
        assert int(_exchange(web, reads).split()[1]) < 500  # the worker now holds a connection
        with connection.cursor() as cursor:
            # Only this server's connections: other processes of the run share the database.
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'portero-dropped'"
            )
            assert cursor.fetchone()[0] >= 1
        for _ in range(3):
            answer = _exchange(web, reads)
            assert int(answer.split()[1]) < 500, answer[:300]  # 302: to the sign-in page
