"""Prometheus metrics of a real `portero serve` (two gunicorn workers) and `portero worker`."""

from __future__ import annotations

import contextlib
import random
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from portero.accounts.models import User
from portero.recovery.services import username_reminder_queue
from tests.e2e.conftest import Browser, pipe_output, portero_process
from tests.processes import database_url, free_port, wait_until_serving

TOKEN = "Tq1selectorSECRETabc.verifierSECRETxyz"  # a made-up recovery link token


def _two_free_ports() -> int:
    """Return a free port whose next port is free too (the worker's).

    Drawn below the kernel's range for outgoing connections (32768 and up here), where no
    client socket of a test running alongside can take either between this check and the
    server binding it; each port is checked by binding it.
    """
    for _ in range(200):
        port = random.randrange(20000, 32000)
        try:
            for candidate in (port, port + 1):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise AssertionError("no pair of free ports")


def _scrape(port: int) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


def _env(tmp_path: Path, metrics: int) -> tuple[str, dict[str, str]]:
    web = free_port()
    base = f"http://127.0.0.1:{web}"
    return base, {
        "PORTERO_ENV": "development",
        "PORTERO_VAR_DIR": str(tmp_path),
        "PORTERO_SECRET_KEY": settings.SECRET_KEY,
        "PORTERO_BASE_URL": base,
        "PORTERO_BIND": f"127.0.0.1:{web}",
        "DATABASE_URL": database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{free_port()}",
        "PORTERO_METRICS_BIND": f"127.0.0.1:{metrics}",
        "PORTERO_WORKER_POLL_SECONDS": "0.2",
        "PORTERO_WORKER_NICE": "0",
    }


@pytest.mark.django_db(transaction=True)
def test_serve_sums_its_workers_and_never_shows_a_path(tmp_path: Path, user: User):
    metrics = free_port()
    base, env = _env(tmp_path, metrics)
    username_reminder_queue(user=user, language="es-co")  # one message waiting
    with portero_process("serve", "--workers", "2", env=env) as server:
        wait_until_serving(f"{base}/salud/vivo", server, pipe_output(server))
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(lambda _: urllib.request.urlopen(f"{base}/salud/vivo").close(), range(40))
            )
        for _ in range(2):
            Browser(base).submit(
                "/ingresar/", {"username": user.username, "password": "no es la clave"}
            )
        Browser(base).submit("/recuperar/contrasena/", {"username": user.username})
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(f"{base}/restablecer/{TOKEN}/").close()
        files = list((tmp_path / "metrics").glob("serve-*/histogram_*.db"))
        text, samples = _scrape(metrics)
    assert (
        samples[
            (
                "portero_http_request_duration_seconds_count",
                (("route", "health_alive"), ("status", "2xx")),
            )
        ]
        == 41
    )
    assert len(files) == 2  # both workers answered; the scrape summed them
    assert samples[("portero_sign_ins_total", (("outcome", "failed"),))] == 2
    assert (
        samples[
            ("portero_recovery_requests_total", (("kind", "password"), ("outcome", "accepted")))
        ]
        == 1
    )
    assert (
        "portero_http_request_duration_seconds_count",
        (("route", "recovery:open_link"), ("status", "3xx")),
    ) in samples
    assert "SECRET" not in text and "/restablecer/" not in text
    assert samples[("portero_outbox_messages", (("status", "queued"),))] == 1
    assert samples[("portero_outbox_oldest_age_seconds", ())] >= 0
    assert samples[("portero_audit_unsealed_events", ())] >= 2  # the failed sign-ins
    assert samples[("portero_logout_deliveries_pending", (("status", "queued"),))] == 0
    assert not (tmp_path / "metrics").exists() or not list((tmp_path / "metrics").iterdir())


@pytest.mark.django_db(transaction=True)
def test_worker_serves_its_heartbeat_on_the_next_port(tmp_path: Path):
    metrics = _two_free_ports()
    _, env = _env(tmp_path, metrics)
    with portero_process("worker", env=env) as worker:
        wait_until_serving(f"http://127.0.0.1:{metrics + 1}/metrics", worker, pipe_output(worker))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text, samples = _scrape(metrics + 1)
            beat = samples.get(("portero_worker_heartbeat_timestamp_seconds", ()), 0)
            if beat:
                break
            time.sleep(0.2)
    assert abs(beat - time.time()) < 10
    assert ("portero_worker_items_total", ()) in samples
    # Its write transactions: counted in the histogram (sealing the test's own rows, at
    # least), with the longest one as a gauge.
    assert ("portero_worker_write_transaction_seconds_count", ()) in samples
    assert ("portero_worker_write_transaction_longest_seconds", ()) in samples
    assert "portero_http_request" not in text and "portero_sign_ins" not in text


def test_metrics_are_off_by_default(client: Any):
    assert "portero.ops.metrics.RequestMetricsMiddleware" not in settings.MIDDLEWARE
    assert client.get("/metrics").status_code == 404
