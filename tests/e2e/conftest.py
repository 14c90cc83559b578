"""Run Portero as real processes (`portero serve`, `portero worker`, `portero demo`)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import _free_port

__all__ = ["Browser", "free_port", "portero_process", "wait_until_serving"]

free_port = _free_port


@contextmanager
def portero_process(*args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """Start `portero ARGS` in its own process group; stop it with SIGINT, then check it ended."""
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("PORTERO_", "DATABASE_URL", "EMAIL_URL", "DJANGO_"))}
    full_env.update(env)
    process = subprocess.Popen(
        [sys.executable, "-m", "portero.cli", *args], env=full_env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise AssertionError(f"portero {' '.join(args)} ignored Ctrl-C") from None


def wait_until_serving(url: str, process: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"process exited early:\n{output}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s")


class Browser:
    """A tiny cookie-keeping HTTP client that submits forms with their CSRF token."""

    def __init__(self, base: str, language: str = "es-CO") -> None:
        self.base, self.language = base, language
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[str, str]:
        request = urllib.request.Request(self.base + path,
                                         headers={"Accept-Language": self.language})
        with self.opener.open(request, timeout=30) as response:
            return response.geturl(), response.read().decode()

    def submit(self, path: str, data: dict[str, Any]) -> tuple[str, str]:
        _, html = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert token, f"no form on {path}"
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token.group(1)}).encode()
        request = urllib.request.Request(
            self.base + path, data=body,
            headers={"Accept-Language": self.language, "Referer": self.base + path},
        )
        with self.opener.open(request, timeout=30) as response:
            return response.geturl(), response.read().decode()
