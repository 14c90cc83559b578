"""The OpenID Connect phases of bench/run.py: whole code flows per second, and the token
endpoint's latency with codes prepared in advance.

Each browser is a fresh cookie jar on http.client that never follows a redirect: the portal's
callback address has no server, and the code is read from the Location, as a callback would.
The portal's side (token and userinfo requests) is plain HTTP as well, with HTTP Basic client
authentication and PKCE S256, which is what any relying-party library sends.
"""

from __future__ import annotations

import base64
import hashlib
import html
import http.client
import itertools
import json
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import load
from harness import BROWSER_HEADERS, CSRF_INPUT, HTTP_TIMEOUT, LOOPBACK, BenchError

# The portal's callback and post-logout addresses: loopback http, which Portero accepts for
# loopback only (OI2); nothing listens on port 9, and nothing needs to.
REDIRECT_URI = f"http://{LOOPBACK}:9/bench/callback"
SCOPE = "openid profile email"
# The sign-in form's own `next` (the language switch before it has one too).
SIGN_IN_FORM = re.compile(rb'<form method="post" action="/ingresar/".*?</form>', re.DOTALL)
NEXT_INPUT = re.compile(rb'name="next" value="([^"]+)"')
STEPS = ("authorize", "sign_in_form", "sign_in", "authorize_again", "token", "userinfo")


def portero_command(env: dict[str, str], *args: str) -> str:
    """Run `portero ARGS` to completion; return its standard output."""
    done = subprocess.run(  # noqa: S603  our own interpreter and fixed arguments
        [sys.executable, "-m", "portero.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode:
        raise BenchError(f"portero {' '.join(args[:2])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


@dataclass(frozen=True)
class Portal:
    """The bench's registered client (confidential: it authenticates at the token endpoint)."""

    client_id: str
    client_secret: str
    redirect_uri: str = REDIRECT_URI

    @property
    def basic(self) -> str:
        pair = f"{urllib.parse.quote(self.client_id)}:{urllib.parse.quote(self.client_secret)}"
        return "Basic " + base64.b64encode(pair.encode()).decode()


def prepare(env: dict[str, str]) -> Portal:
    """Create the signing key and register the portal, as an operator does before serving."""
    portero_command(env, "keys", "rotate")
    out = portero_command(
        env,
        "client",
        "add",
        "--name",
        "Portal de carga",
        "--redirect-uri",
        REDIRECT_URI,
        "--post-logout-redirect-uri",
        f"http://{LOOPBACK}:9/",
    )
    credentials = json.loads(out.strip().splitlines()[-1])
    return Portal(credentials["client_id"], credentials["client_secret"])


@dataclass
class Answer:
    status: int
    location: str
    body: bytes
    ms: float


class Jar:
    """One browser (or the portal's back end): its cookies, and one request at a time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.origin = f"http://{LOOPBACK}:{port}"
        self.cookies: SimpleCookie = SimpleCookie()

    def send(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        """Send one request; time it from the request's first byte to the response's last
        (gunicorn's sync workers close every connection: it is opened before the clock)."""
        conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=HTTP_TIMEOUT)
        conn.connect()
        cookie = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        start = time.perf_counter()
        conn.request(
            method,
            path,
            body=body,
            headers={
                **BROWSER_HEADERS,
                **({"Cookie": cookie} if cookie else {}),
                **(headers or {}),
            },
        )
        response = conn.getresponse()
        data = response.read()
        ms = (time.perf_counter() - start) * 1000
        conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.load(header)
        return Answer(response.status, response.headers.get("Location", ""), data, ms)

    def post_form(self, path: str, fields: dict[str, str]) -> Answer:
        return self.send(
            "POST",
            path,
            urllib.parse.urlencode(fields),
            {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin},
        )


def _expect(answer: Answer, status: int, what: str, location: str = "") -> Answer:
    if answer.status != status or not answer.location.startswith(location):
        raise BenchError(f"{what}: {answer.status} {answer.location[:120]!r} {answer.body[:200]!r}")
    return answer


def pkce() -> tuple[str, str]:
    """Return a PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_path(portal: Portal, challenge: str) -> str:
    return "/o/authorize/?" + urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": portal.client_id,
            "redirect_uri": portal.redirect_uri,
            "scope": SCOPE,
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )


def code_of(location: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]


def token_request(port: int, portal: Portal, code: str, verifier: str) -> Answer:
    """The portal redeems a code (client_secret_basic, PKCE verifier)."""
    return Jar(port).send(
        "POST",
        "/o/token/",
        urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": portal.redirect_uri,
                "code_verifier": verifier,
            }
        ),
        {"Content-Type": "application/x-www-form-urlencoded", "Authorization": portal.basic},
    )


def sign_in(browser: Jar, sign_in_path: str, username: str, password: str) -> tuple[Answer, Answer]:
    """GET the sign-in form (CSRF cookie, token, `next`), POST it as a browser does."""
    form = browser.send("GET", sign_in_path)
    found = SIGN_IN_FORM.search(form.body)
    html_form = found[0] if found else b""
    token, following = CSRF_INPUT.search(html_form), NEXT_INPUT.search(html_form)
    if form.status != 200 or token is None:
        raise BenchError(f"GET {sign_in_path}: {form.status} without a CSRF token")
    fields = {"csrfmiddlewaretoken": token[1].decode(), "username": username, "password": password}
    if following:
        fields["next"] = html.unescape(following[1].decode())
    return form, browser.post_form("/ingresar/", fields)


def code_flow(port: int, portal: Portal, username: str, password: str) -> dict[str, float]:
    """One person signing in to the portal from a fresh browser: authorize, sign-in form,
    sign-in, authorize again, then the portal's token and userinfo requests; return the
    milliseconds of each step."""
    browser = Jar(port)
    verifier, challenge = pkce()
    first = _expect(
        browser.send("GET", authorize_path(portal, challenge)), 302, "authorize", "/ingresar/"
    )
    form, signed_in = sign_in(browser, first.location, username, password)
    _expect(signed_in, 302, "sign-in", "/o/authorize/")
    back = _expect(
        browser.send("GET", signed_in.location), 302, "authorize again", portal.redirect_uri
    )
    token = token_request(port, portal, code_of(back.location), verifier)
    if token.status != 200:
        raise BenchError(f"token: {token.status} {token.body[:200]!r}")
    access = json.loads(token.body)["access_token"]
    info = Jar(port).send("GET", "/o/userinfo/", headers={"Authorization": f"Bearer {access}"})
    if info.status != 200 or b'"sub"' not in info.body:
        raise BenchError(f"userinfo: {info.status} {info.body[:200]!r}")
    return dict(
        zip(STEPS, (first.ms, form.ms, signed_in.ms, back.ms, token.ms, info.ms), strict=True)
    )


def _run_threads(concurrency: int, work: Callable[[int], None]) -> float:
    """Run `work(i)` in `concurrency` threads; return the seconds they took together."""
    threads = [threading.Thread(target=work, args=(i,)) for i in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def code_flows(
    port: int, portal: Portal, names: list[str], password: str, *, concurrency: int, seconds: float
) -> dict[str, Any]:
    """Whole code flows from `concurrency` clients back to back for `seconds` (closed loop)."""
    counter, lock = itertools.count(), threading.Lock()
    steps: dict[str, list[float]] = {step: [] for step in STEPS}
    totals: list[float] = []
    errors: list[str] = []
    end = time.monotonic() + seconds
    cpu = time.process_time()

    def run(_: int) -> None:
        while time.monotonic() < end:
            with lock:
                name = names[next(counter) % len(names)]
            try:
                took = code_flow(port, portal, name, password)
            except (BenchError, OSError, ValueError, KeyError) as error:
                with lock:
                    errors.append(str(error)[:300])
                continue
            with lock:
                totals.append(sum(took.values()))
                for step, ms in took.items():
                    steps[step].append(ms)

    elapsed = _run_threads(concurrency, run)
    return {
        "concurrency": concurrency,
        "flows": len(totals),
        "rps": round(len(totals) / elapsed, 1),
        **load.percentiles(totals),
        "steps": {step: load.percentiles(ms) for step, ms in steps.items()},
        "errors": len(errors),
        "first_errors": errors[:3],
        # The generator shares the cores with the servers: say what it cost them.
        "generator_cpu_ms_per_flow": round(
            (time.process_time() - cpu) * 1000 / max(len(totals), 1), 2
        ),
    }


def signed_in_browsers(
    port: int, portal: Portal, names: list[str], password: str, count: int
) -> list[Jar]:
    """Return `count` browsers signed in to Portero, through the portal's first request."""
    browsers = []
    for name in names[:count]:
        browser = Jar(port)
        first = _expect(
            browser.send("GET", authorize_path(portal, pkce()[1])), 302, "authorize", "/ingresar/"
        )
        _expect(
            sign_in(browser, first.location, name, password)[1], 302, "sign-in", "/o/authorize/"
        )
        browsers.append(browser)
    return browsers


def codes_prepare(
    port: int, portal: Portal, browsers: list[Jar], count: int
) -> list[tuple[str, str]]:
    """Return `count` fresh (code, verifier) pairs, each browser authorizing in turn."""
    codes: list[tuple[str, str]] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        browser = browsers[i]
        while True:
            with lock:
                if len(codes) >= count:
                    return
            verifier, challenge = pkce()
            back = _expect(
                browser.send("GET", authorize_path(portal, challenge)),
                302,
                "authorize (signed in)",
                portal.redirect_uri,
            )
            with lock:
                codes.append((code_of(back.location), verifier))

    _run_threads(len(browsers), run)
    return codes[:count]


def token_endpoint(
    port: int, portal: Portal, browsers: list[Jar], *, concurrency: int, seconds: float, batch: int
) -> dict[str, Any]:
    """Token requests only, from `concurrency` clients, timed; codes are prepared in batches
    right before each measured stretch (a code lives 60 s), at least one batch."""
    latencies: list[float] = []
    errors: list[str] = []
    measured, prepared_s, batches = 0.0, 0.0, 0
    lock = threading.Lock()
    while not batches or measured < seconds:
        clock = time.monotonic()
        codes = codes_prepare(port, portal, browsers, batch)
        prepared_s += time.monotonic() - clock
        batches += 1
        queue = iter(codes)

        def run(_: int, queue: Any = queue) -> None:
            while True:
                with lock:
                    pair = next(queue, None)
                if pair is None:
                    return
                answer = token_request(port, portal, *pair)
                with lock:
                    latencies.append(answer.ms)
                    if answer.status != 200:
                        errors.append(f"{answer.status} {answer.body[:200]!r}")

        measured += _run_threads(concurrency, run)
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "rps": round(len(latencies) / measured, 1),
        **load.percentiles(latencies),
        "batches": batches,
        "batch": batch,
        "prepare_s": round(prepared_s, 1),
        "errors": len(errors),
        "first_errors": errors[:3],
    }
