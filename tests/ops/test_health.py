"""The health endpoints: /salud/vivo (the process answers) and /salud/listo (it can serve)."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from portero.audit.models import AuditEvent
from portero.ops import health
from tests.e2e.conftest import pipe_output, portero_process
from tests.processes import free_port, wait_until_serving


def _get(url: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def _serve(tmp_path: Path, database_url: str) -> tuple[str, dict[str, str]]:
    web = free_port()
    base = f"http://127.0.0.1:{web}"
    return base, {
        "PORTERO_ENV": "development",
        "PORTERO_VAR_DIR": str(tmp_path),
        "PORTERO_SECRET_KEY": settings.SECRET_KEY,
        "PORTERO_BASE_URL": base,
        "PORTERO_BIND": f"127.0.0.1:{web}",
        "DATABASE_URL": database_url,
    }


def _serve_and_probe(tmp_path: Path, database_url: str) -> tuple[tuple[Any, ...], ...]:
    base, env = _serve(tmp_path, database_url)
    with portero_process("serve", "--workers", "1", env=env) as server:
        wait_until_serving(f"{base}/salud/vivo", server, pipe_output(server))
        return _get(f"{base}/salud/vivo"), _get(f"{base}/salud/listo")


@pytest.mark.django_db
def test_ready_when_the_database_is_migrated(client: Client, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO)
    response = client.get("/salud/listo")
    assert response.status_code == 200
    expected = {"database": "ok", "migrations": "ok"}
    if settings.REDIS_URL:
        expected["redis"] = "ok"
    assert response.json() == {"status": "ok", "checks": expected}
    assert response["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers and not response.cookies
    assert not Session.objects.exists() and not AuditEvent.objects.exists()
    assert not [r for r in caplog.records if r.name == "portero.security"]


def test_alive_needs_no_database(client: Client):
    response = client.get("/salud/vivo")  # no django_db mark: any query would raise
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store" and not response.cookies


@pytest.mark.django_db
def test_ready_checks_migrations_once_per_process(client: Client, django_assert_num_queries: Any):
    client.get("/salud/listo")
    with django_assert_num_queries(1):  # SELECT 1
        assert client.get("/salud/listo").status_code == 200


def test_probes_are_not_posted_to(client: Client):
    assert client.post("/salud/vivo").status_code == 405


@pytest.mark.django_db
def test_redis_unreachable_is_reported_but_still_ready(client: Client, settings: Any):
    """The rate-limit counters fall back to the database: a Redis outage must not take every
    instance out of the load balancer (issue 15, "Redis down")."""
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/salud/listo")
    assert response.status_code == 200 and "Retry-After" not in response
    assert response.json() == {
        "status": "degraded",
        "degraded": ["redis"],
        "checks": {"database": "ok", "migrations": "ok", "redis": "unreachable"},
    }
    assert response["Cache-Control"] == "no-store"


def test_a_database_without_migrations_is_not_ready(tmp_path: Path):
    empty = tmp_path / "empty.sqlite3"
    alive, ready = _serve_and_probe(tmp_path, f"sqlite:///{empty}")
    assert alive[0] == 200 and alive[2] == {"status": "ok"}
    status, headers, body = ready
    assert status == 503 and headers["Retry-After"] == str(health.RETRY_AFTER_SECONDS)
    assert body == {
        "status": "unavailable",
        "failed": ["migrations"],
        "checks": {"database": "ok", "migrations": "pending"},
    }
    assert headers["Cache-Control"] == "no-store"


def test_an_unreachable_database_is_not_ready_but_alive(tmp_path: Path):
    password = "no-secreto-123"
    alive, ready = _serve_and_probe(tmp_path, f"postgres://x:{password}@127.0.0.1:{free_port()}/x")
    assert alive[0] == 200
    status, headers, body = ready
    assert status == 503 and "Retry-After" in headers
    assert body == {
        "status": "unavailable",
        "failed": ["database", "migrations"],
        "checks": {"database": "unreachable", "migrations": "unknown"},
    }
    assert password not in json.dumps(body) and "Traceback" not in json.dumps(body)


def test_serve_output_has_no_traceback_when_not_ready(tmp_path: Path):
    base, env = _serve(tmp_path, f"postgres://x@127.0.0.1:{free_port()}/x")
    with portero_process("serve", "--workers", "1", env=env) as server:
        wait_until_serving(f"{base}/salud/vivo", server, pipe_output(server))
        assert _get(f"{base}/salud/listo")[0] == 503
        # Let the worker finish writing the body the client did not read before Ctrl-C: a
        # SIGINT inside gunicorn's write prints gunicorn's own traceback, not ours.
        time.sleep(1)
    output = server.stdout.read() if server.stdout else ""
    assert "not ready: database=unreachable" in output and "Traceback" not in output
