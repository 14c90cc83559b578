"""A throw-away Portero on 127.0.0.1 for benchmarks: environment, processes, SMTP sink, waits,
client. Every benchmark starts its children, its SMTP sink and waits for them through here.

Everything started here runs in a process group of its own and is stopped by its PID when the
context that started it exits, also on Ctrl-C or an error.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
LOOPBACK = "127.0.0.1"
LOOPBACK_DATABASE_HOSTS = {"", "127.0.0.1", "localhost", "::1"}
START_TIMEOUT = 60.0  # seconds for `portero serve` (or the SMTP sink) to answer
STOP_TIMEOUT = 15.0  # seconds for a child to stop after SIGTERM before it gets SIGKILL
MAIL_DRAIN_TIMEOUT = 60.0  # seconds the worker gets to deliver what a run queued
HTTP_TIMEOUT = 30.0  # seconds; gunicorn's own worker timeout, so a hung worker cannot hang us
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
BROWSER_HEADERS = {"Accept-Language": "es-CO", "User-Agent": "portero-bench/1"}


class BenchError(Exception):
    """The benchmark could not run; the message says why."""


def remaining(deadline: float) -> float:
    """Return the seconds left before `deadline` (time.monotonic), or stop the run."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise BenchError("the run took longer than --max-seconds")
    return left


def free_port(*, other_than: int = 0) -> int:
    """Return a loopback TCP port nobody listens on right now."""
    while True:
        with socket.socket() as probe:
            probe.bind((LOOPBACK, 0))
            port: int = probe.getsockname()[1]
        if port != other_than:
            return port


def free_ports(count: int) -> int:
    """Return the first of `count` consecutive loopback ports nobody listens on (the worker
    processes' metrics, one port each).

    Drawn below the kernel's range for outgoing connections (32768 and up), where no client
    socket takes one between this check and the process binding it; each is checked by
    binding it.
    """
    for _ in range(500):
        first = random.randrange(20000, 32000 - count)
        try:
            for port in range(first, first + count):
                with socket.socket() as probe:
                    probe.bind((LOOPBACK, port))
        except OSError:
            continue
        return first
    raise RuntimeError(f"no {count} consecutive free ports on {LOOPBACK}")


def is_loopback_database(url: str) -> bool:
    """Return True if `url` names a database on this machine (the bench stays on loopback)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    return host in LOOPBACK_DATABASE_HOSTS or host.startswith(("%2f", "/"))


def portero_env(
    var_dir: Path, web_port: int, smtp_port: int, database_url: str | None
) -> dict[str, str]:
    """Return the environment for every Portero process of one run."""
    # Drop the caller's own Portero settings: a DATABASE_URL or REDIS_URL exported for real
    # work must never receive bench accounts or counters.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTERO_", "DATABASE_URL", "EMAIL_URL", "REDIS_URL", "DJANGO_"))
    }
    alphabet = string.ascii_letters + string.digits
    audit_key = var_dir / "audit-key"  # production requires one (PORTERO_AUDIT_KEY_FILE)
    if not audit_key.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        audit_key.write_text(secrets.token_hex(32) + "\n")
        audit_key.chmod(0o600)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portero.config.settings",
            # Production settings, as deployed (no debug cursor or query log): the public origin
            # is https, as production requires; the benchmark talks plain HTTP to the bound
            # address, as the TLS proxy in front of `portero serve` would.
            "PORTERO_ENV": "production",
            "PORTERO_VAR_DIR": str(var_dir),
            "PORTERO_AUDIT_KEY_FILE": str(audit_key),
            "PORTERO_SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(50)),
            "PORTERO_BASE_URL": f"https://{LOOPBACK}:{web_port}",
            "PORTERO_EXTRA_HOSTS": LOOPBACK,
            "PORTERO_BIND": f"{LOOPBACK}:{web_port}",
            "EMAIL_URL": f"smtp://{LOOPBACK}:{smtp_port}",
            # Every request comes from 127.0.0.1: with the limits on, the per-client and
            # per-account throttles (LI2, LI3, FR2) would take over within seconds, and the run
            # would measure the throttle instead of the account lookup.
            "PORTERO_RATE_LIMITS": "off",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def run_python(what: str, args: list[str], env: dict[str, str], deadline: float) -> None:
    """Run this interpreter with `args` to completion, failing with its output."""
    try:
        done = subprocess.run(  # noqa: S603  our own interpreter and fixed arguments
            [sys.executable, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=remaining(deadline),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{what} did not finish in time") from None
    if done.returncode:
        raise BenchError(f"{what} failed:\n{done.stdout}{done.stderr}")


@dataclass(frozen=True)
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 20) -> str:
        """Return the end of the child's output, to explain a failure."""
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- last lines of {self.log.name}\n" + "\n".join(text)


@contextmanager
def child(
    name: str, cmd: list[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> Iterator[Child]:
    """Run `cmd` in a process group of its own; always stop that group afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603  our own interpreter and fixed arguments
            cmd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            # Its own session: a Ctrl-C reaches only us, and we stop the children in order.
            start_new_session=True,
        )
    try:
        yield Child(name, process, log)
    finally:
        stop_group(process)


def portero(args: list[str], env: dict[str, str], log: Path) -> Any:
    """Run `portero ARGS` (serve, worker...) as a child (see `child`)."""
    return child(args[0], [sys.executable, "-m", "portero.cli", *args], env, log)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the process group we started (e.g. gunicorn's master and workers) by its PID."""
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has already exited
        os.killpg(pgid, sig)


def check_alive(children: list[Child]) -> None:
    for child in children:
        if child.process.poll() is not None:
            raise BenchError(f"{child.name} exited with {child.process.returncode}")


def wait_for(
    done: Callable[[], bool],
    *,
    timeout: float,
    children: Sequence[Child] = (),
    interval: float = 0.2,
) -> float:
    """Poll `done` until it is true or `timeout` seconds have passed, failing at once if a
    child dies; return the seconds waited (check `done` again to tell a timeout)."""
    start = time.monotonic()
    while not done() and time.monotonic() - start < timeout:
        check_alive(list(children))
        time.sleep(interval)
    return round(time.monotonic() - start, 1)


def _answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=2)
    try:
        connection.request("GET", path, headers=BROWSER_HEADERS)
        return connection.getresponse().status == 200
    except OSError:
        return False  # not listening yet
    finally:
        connection.close()


def _listens(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((LOOPBACK, port)) == 0


def wait_until_serving(port: int, path: str, children: list[Child], deadline: float) -> None:
    """Return once `path` answers 200; fail if a child dies or time runs out."""
    timeout = min(remaining(deadline), START_TIMEOUT)
    wait_for(lambda: _answers(port, path), timeout=timeout, children=children)
    if not _answers(port, path):
        raise BenchError(f"{path} did not answer within {timeout:.0f} s")


def wait_for_port(port: int, children: list[Child], timeout: float = START_TIMEOUT) -> None:
    """Return once something accepts connections on `port`; fail if a child dies first."""
    wait_for(lambda: _listens(port), timeout=timeout, children=children, interval=0.1)
    if not _listens(port):
        raise BenchError(f"nothing listens on {port} after {timeout:.0f} s")


class Sink:
    """The SMTP sink process (bench/sink.py) and the messages it logged, one JSON line each."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def messages(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def count(self) -> int:
        return len(self.messages())


@contextmanager
def sink(port: int, delay: float, tmp: Path, env: dict[str, str]) -> Iterator[Sink]:
    """Run a real SMTP server on loopback (aiosmtpd, in a process of its own so that accepting
    mail never competes with the caller for its GIL), answering after `delay` seconds."""
    log = tmp / f"sink-{port}.jsonl"
    with child(
        "sink",
        [
            sys.executable,
            str(BENCH_DIR / "sink.py"),
            "--port",
            str(port),
            "--delay",
            str(delay),
            "--log",
            str(log),
        ],
        env,
        tmp / f"sink-{port}.out",
    ) as proc:
        wait_for_port(port, [proc])
        yield Sink(log)


@dataclass(frozen=True)
class Answer:
    """What one timed POST took and returned."""

    ms: float
    status: int
    length: int
    header_names: tuple[str, ...]


class Client:
    """A browser that starts a fresh cookie session for every submission (GET, then POST)."""

    def __init__(self, port: int) -> None:
        self.origin = f"http://{LOOPBACK}:{port}"
        self.connection = http.client.HTTPConnection(LOOPBACK, port, timeout=HTTP_TIMEOUT)

    def close(self) -> None:
        self.connection.close()

    def exchange(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[http.client.HTTPResponse, bytes, float]:
        """Send one request; return the response, its body and the seconds it took."""
        if self.connection.sock is None:
            # gunicorn's sync workers close every connection (no keep-alive): open the next
            # one before the clock starts, so that only the request itself is timed.
            self.connection.connect()
        start = time.perf_counter()
        self.connection.request(
            method, path, body=body, headers={**BROWSER_HEADERS, **(headers or {})}
        )
        response = self.connection.getresponse()
        data = response.read()
        return response, data, time.perf_counter() - start

    def submit(self, path: str, fields: dict[str, str]) -> Answer:
        """GET the form for a CSRF cookie and token, then time the POST alone."""
        page, html, _ = self.exchange("GET", path)
        token = CSRF_INPUT.search(html)
        if page.status != 200 or token is None:
            raise BenchError(f"GET {path} answered {page.status} without a CSRF token")
        cookies = SimpleCookie()
        for header in page.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token[1].decode(), **fields})
        response, data, seconds = self.exchange(
            "POST",
            path,
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": "; ".join(f"{name}={c.value}" for name, c in cookies.items()),
                "Origin": self.origin,
            },
        )
        names = tuple(sorted({name.lower() for name in response.headers}))
        return Answer(seconds * 1000, response.status, len(data), names)
