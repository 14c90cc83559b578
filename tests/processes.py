"""Portero as child processes of the tests: ports, environment, database URL, start-up wait.

Shared by tests/e2e (one process per test, its own process group, Ctrl-C checked) and
tests/browser (one server and worker for the browser package).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

# The caller's own configuration must never reach a child: it gets the test's services only.
_OWN_SETTINGS = ("PORTERO_", "DATABASE_URL", "EMAIL_URL", "REDIS_URL", "DJANGO_")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url() -> str:
    """Return a URL for the test database, which the child processes share with the tests."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def child_env(env: dict[str, str]) -> dict[str, str]:
    """Return this environment without Portero's own settings, plus `env`."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith(_OWN_SETTINGS)}, **env}


def wait_until_serving(
    url: str,
    process: subprocess.Popen[bytes] | subprocess.Popen[str],
    output: Callable[[], str],
    seconds: float = 60,
) -> None:
    """Wait until `url` answers; fail with the process's `output` if it exits or times out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process exited early:\n{output()}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s:\n{output()}")


@dataclass
class PorteroProcess:
    """A `portero` command, its output in a log file (a pipe nobody reads would fill and block).

    It stays in pytest's process group: if the test run is killed, the server goes with it.
    """

    args: tuple[str, ...]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> PorteroProcess:
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "portero.cli", *self.args],
                env=child_env(self.env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGINT)  # gunicorn's master stops its own workers
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
