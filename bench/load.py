"""Load generators over real HTTP on loopback: closed loop (N clients) and open loop (rate).

Closed loops run on wrk (C, Debian's package) when it is installed, else on Python threads with
http.client, whose own CPU time competes with the servers on the same cores; the open loop is
always Python threads (see bench/README.md).
"""

from __future__ import annotations

import http.client
import itertools
import json
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from harness import BROWSER_HEADERS, CSRF_INPUT, HTTP_TIMEOUT, LOOPBACK, BenchError

Fields = Callable[[str], dict[str, str]]


class FormClient:
    """One browser: GETs the form once (cookie + token), then POSTs it as often as asked."""

    def __init__(self, port: int, path: str, *, keep_cookies: bool = False) -> None:
        self.port, self.path, self.keep = port, path, keep_cookies
        self.origin = f"http://{LOOPBACK}:{port}"
        self.cookies: SimpleCookie = SimpleCookie()
        self.token = ""
        if path:
            self.fetch_token(path)

    def fetch_token(self, path: str) -> None:
        """GET `path` and keep its CSRF cookie and form token."""
        page, html = self.get(path)
        token = CSRF_INPUT.search(html)
        if page.status != 200 or token is None:
            raise BenchError(f"GET {path} on :{self.port} answered {page.status} without a token")
        self.token = token[1].decode()

    def _send(
        self, method: str, path: str, body: str | None, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, bytes, float]:
        conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=HTTP_TIMEOUT)
        conn.connect()  # gunicorn's sync workers close every connection: connect untimed
        cookie = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        start = time.perf_counter()
        conn.request(
            method,
            path,
            body=body,
            headers={**BROWSER_HEADERS, **({"Cookie": cookie} if cookie else {}), **headers},
        )
        response = conn.getresponse()
        data = response.read()
        seconds = time.perf_counter() - start
        conn.close()
        return response, data, seconds

    def _remember(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.load(header)

    def get(self, path: str) -> tuple[http.client.HTTPResponse, bytes]:
        response, data, _ = self._send("GET", path, None, {})
        self._remember(response)
        return response, data

    def timed_get(self, path: str) -> tuple[int, float, bytes]:
        response, data, seconds = self._send("GET", path, None, {})
        return response.status, seconds, data

    def post(self, fields: dict[str, str], path: str | None = None) -> tuple[int, float, str]:
        """POST the form; return status, seconds (the POST alone) and Location."""
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.token, **fields})
        response, _, seconds = self._send(
            "POST",
            path or self.path,
            body,
            {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin},
        )
        if self.keep:
            self._remember(response)
        return response.status, seconds, response.headers.get("Location", "")


def percentiles(ms: list[float]) -> dict[str, float]:
    if len(ms) < 2:
        return {"p50_ms": round(ms[0], 2) if ms else 0.0, "p99_ms": round(ms[0], 2) if ms else 0.0}
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50_ms": round(statistics.median(ms), 2), "p99_ms": round(cuts[98], 2)}


def closed_loop(
    port: int,
    path: str,
    names: list[str],
    fields: Fields,
    *,
    concurrency: int,
    seconds: float,
    expect: int,
) -> dict[str, Any]:
    """Run `concurrency` clients back to back for `seconds`; return rate and latencies."""
    clients = [FormClient(port, path) for _ in range(concurrency)]
    counter, lock = itertools.count(), threading.Lock()
    latencies: list[float] = []
    errors: list[int] = []
    end = time.monotonic() + seconds

    def run(client: FormClient) -> None:
        while time.monotonic() < end:
            with lock:
                name = names[next(counter) % len(names)]
            status, took, _ = client.post(fields(name))
            with lock:
                latencies.append(took * 1000)
                if status != expect:
                    errors.append(status)

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        **percentiles(latencies),
        "errors": len(errors),
        "error_statuses": sorted(set(errors)),
    }


def open_loop(
    port: int,
    path: str,
    names: list[str],
    fields: Fields,
    *,
    rate: float,
    seconds: float,
    expect: int,
    senders: int = 16,
) -> dict[str, Any]:
    """Send `rate` requests/s on schedule for `seconds`; return per-name response times."""
    total = int(rate * seconds)
    clients = [FormClient(port, path) for _ in range(senders)]
    responses: list[tuple[str, float, float]] = []  # name, wall time of the response, ms
    lock, errors = threading.Lock(), [0]
    start = time.monotonic() + 0.2

    def run(j: int) -> None:
        for slot in range(j, total, senders):
            delay = start + slot / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            name = names[slot % len(names)]
            status, took, _ = clients[j].post(fields(name))
            with lock:
                responses.append((name, time.time(), took * 1000))
                errors[0] += status != expect

    threads = [threading.Thread(target=run, args=(j,)) for j in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    achieved = len(responses) / max(time.monotonic() - start, 1e-9)
    return {
        "responses": responses,
        "errors": errors[0],
        "achieved_rps": round(achieved, 1),
        **percentiles([r[2] for r in responses]),
    }


WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "form.lua"


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk_closed_loop(
    port: int,
    path: str,
    names: list[str],
    field: str,
    *,
    concurrency: int,
    seconds: float,
    expect: int,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Like `closed_loop`, driven by wrk (C, from Debian's package) instead of Python threads.

    The generator then costs the 2 cores almost nothing, so the figures are the servers'. One
    CSRF cookie and token, fetched here, serve every connection.
    """
    client = FormClient(port, path)
    cookie = "; ".join(f"{k}={m.value}" for k, m in client.cookies.items())
    encoded = urllib.parse.urlencode(extra or {})
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(names) + "\n")
    try:
        done = subprocess.run(  # noqa: S603  fixed program, our own arguments
            [
                shutil.which("wrk") or "wrk",
                "-t",
                str(min(concurrency, 2)),
                "-c",
                str(concurrency),
                "-d",
                f"{seconds:g}s",
                "--timeout",
                f"{HTTP_TIMEOUT:g}s",
                "-s",
                str(WRK_SCRIPT),
                f"http://{LOOPBACK}:{port}",
                "--",
                path,
                field,
                handle.name,
                client.token,
                cookie,
                str(expect),
                f"&{encoded}" if encoded else "",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    finally:
        Path(handle.name).unlink()
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stdout[-500:]}{done.stderr}")
    out = json.loads(lines[-1])
    elapsed = out["duration_us"] / 1e6
    return {
        "concurrency": concurrency,
        "requests": out["requests"],
        "rps": round(out["requests"] / elapsed, 1),
        "p50_ms": round(out["p50_us"] / 1000, 2),
        "p99_ms": round(out["p99_us"] / 1000, 2),
        "errors": out["errors"] + out["socket_errors"],
        "error_statuses": sorted(out["error_statuses"]),
        "generator": "wrk",
    }
