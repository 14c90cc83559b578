"""Issue 15: Redis goes down while it holds the rate-limit counters.

The choice (docs/operations.md): the counters fall back to the database, so the limits keep
holding (never unlimited sending), nobody gets an error, and Redis is used again once it
answers. A real redis-server of the test's own, stopped and started again.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from django.test import Client

from portero.core import ratelimit
from portero.core.models import RateCounter
from tests.processes import free_port

pytestmark = pytest.mark.django_db


class ThrowawayRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # as a crash: nothing saved, every connection cut
            self.process.wait()
            self.process = None


@pytest.fixture
def own_redis(settings) -> Iterator[ThrowawayRedis]:  # type: ignore[no-untyped-def]
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is missing (apt-get install redis-server)")
    server = ThrowawayRedis()
    server.start()
    settings.REDIS_URL = server.url
    yield server
    server.stop()


def _ask(username: str) -> int:
    browser = Client(REMOTE_ADDR="203.0.113.7")
    return browser.post("/recuperar/contrasena/", {"username": username}).status_code


def test_fr2_redis_down_counts_in_the_database_never_unlimited_never_an_error(
    own_redis, user, mailbox, worker, clock, caplog
):
    for _ in range(3):
        assert _ask("gongoragabriela") == 302
    worker.drain()
    assert len(mailbox.messages) == 3 and not RateCounter.objects.exists()  # in Redis

    own_redis.stop()
    for _ in range(20):
        assert _ask("gongoragabriela") == 302  # the same answer, never a 500
    worker.drain()
    # The database's counters hold the limit (5 an hour) from the outage on: a limit can at
    # most double across an outage, never vanish.
    assert len(mailbox.messages) == 3 + 5
    assert RateCounter.objects.exists()
    assert caplog.text.count("Redis unreachable") == 1

    own_redis.start()  # empty, as after a crash
    clock.advance(timedelta(seconds=ratelimit.REDIS_RETRY_SECONDS))
    counted = sorted(RateCounter.objects.values_list("key", "count"))
    assert _ask("gongoragabriela") == 302
    worker.drain()
    assert "Redis answers again" in caplog.text
    assert sorted(RateCounter.objects.values_list("key", "count")) == counted  # Redis again


def test_li3_sign_in_with_redis_down_is_answered_and_still_throttled(own_redis, user):
    from tests.conftest import PASSWORD

    own_redis.stop()
    for number in range(30):
        failed = Client(REMOTE_ADDR="198.51.100.9").post(
            "/ingresar/", {"username": f"usuario.{number}", "password": "x" * 16}
        )
        assert failed.status_code == 200
    refused = Client(REMOTE_ADDR="198.51.100.9").post(
        "/ingresar/", {"username": "gongoragabriela", "password": PASSWORD}
    )
    assert "Demasiados ingresos fallidos desde su red" in refused.content.decode()
    elsewhere = Client(REMOTE_ADDR="198.51.100.10").post(
        "/ingresar/", {"username": "gongoragabriela", "password": PASSWORD}
    )
    assert elsewhere.status_code == 302
