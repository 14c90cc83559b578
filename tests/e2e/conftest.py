"""Run Portero as real processes (`portero serve`, `portero worker`, `portero demo`)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.processes import child_env


def pipe_output(process: subprocess.Popen[str]) -> Callable[[], str]:
    """Return a reader of what `process` wrote to its pipe (once it has exited)."""
    return lambda: process.stdout.read() if process.stdout else ""


@contextmanager
def portero_process(*args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """Start `portero ARGS` in its own process group; stop it with SIGINT, then check it ended."""
    process = subprocess.Popen(
        [sys.executable, "-m", "portero.cli", *args],
        env=child_env(env),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
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


class Browser:
    """A tiny cookie-keeping HTTP client that submits forms with their CSRF token."""

    def __init__(self, base: str, language: str = "es-CO") -> None:
        self.base, self.language = base, language
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[str, str]:
        request = urllib.request.Request(
            self.base + path, headers={"Accept-Language": self.language}
        )
        with self.opener.open(request, timeout=30) as response:
            return response.geturl(), response.read().decode()

    def submit(self, path: str, data: dict[str, Any]) -> tuple[str, str]:
        _, html = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert token, f"no form on {path}"
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token.group(1)}).encode()
        request = urllib.request.Request(
            self.base + path,
            data=body,
            headers={"Accept-Language": self.language, "Referer": self.base + path},
        )
        with self.opener.open(request, timeout=30) as response:
            return response.geturl(), response.read().decode()
