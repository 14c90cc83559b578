"""The measurements of bench/run.py, one function per question of the benchmark issue."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import time
from typing import Any

import harness
import load

RESET_PATH = "/recuperar/contrasena/"
STOCK_PATH = "/password_reset/"
SIGN_IN_PATH = "/ingresar/"
NEW_PASSWORD_FORM = b'name="new_password1"'

ARGON_SNIPPET = """
import multiprocessing, sys, time
import django
django.setup()
from django.contrib.auth.hashers import check_password, make_password
procs, seconds = int(sys.argv[1]), float(sys.argv[2])
encoded = make_password("bound-check-password-2026")

def verify(_):
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        check_password("bound-check-password-2026", encoded)
        n += 1
    return n

with multiprocessing.get_context("fork").Pool(procs) as pool:
    start = time.monotonic()
    total = sum(pool.map(verify, range(procs)))
    print(total / (time.monotonic() - start))
"""


def reset_rates(
    port: int, path: str, known: list[str], unknown: list[str], field: str, seconds: float
) -> dict[str, Any]:
    """Known and unknown identifiers at concurrency 1 and 8 (302 expected)."""
    out: dict[str, Any] = {}
    for kind, names in (("known", known), ("unknown", unknown)):
        for concurrency in (1, 8):
            out[f"{kind}_c{concurrency}"] = closed_loop(
                port, path, names, field, concurrency=concurrency, seconds=seconds, expect=302
            )
    return out


def closed_loop(
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
    """POST `field` = each of `names` in turn (plus `extra`) from `concurrency` clients."""
    if load.wrk_available():
        return load.wrk_closed_loop(
            port,
            path,
            names,
            field,
            concurrency=concurrency,
            seconds=seconds,
            expect=expect,
            extra=extra,
        )
    return load.closed_loop(
        port,
        path,
        names,
        lambda n: {field: n, **(extra or {})},
        concurrency=concurrency,
        seconds=seconds,
        expect=expect,
    )


def time_to_inbox(
    port: int,
    names: list[str],
    sink: harness.Sink,
    *,
    rate: float,
    seconds: float,
    drain_timeout: float,
) -> dict[str, Any]:
    """Open-loop resets at `rate`; match each response to the message the sink accepted."""
    seen = sink.count()
    result = load.open_loop(
        port, RESET_PATH, names, lambda n: {"username": n}, rate=rate, seconds=seconds, expect=302
    )
    responses = result.pop("responses")
    harness.wait_for(
        lambda: sink.count() - seen >= len(responses), timeout=drain_timeout, interval=0.25
    )
    arrivals: dict[str, list[float]] = {}
    for message in sink.messages()[seen:]:
        arrivals.setdefault(message["user"], []).append(message["t"])
    waits, missing = [], 0
    for name, answered, _ in sorted(responses, key=lambda r: r[1]):
        queue = arrivals.get(name)
        if queue:
            waits.append((queue.pop(0) - answered) * 1000)
        else:
            missing += 1
    return {
        "rate": rate,
        "seconds": seconds,
        "sent": len(responses),
        "missing": missing,
        "request_errors": result["errors"],
        "achieved_rps": result["achieved_rps"],
        "request_p50_ms": result["p50_ms"],
        "request_p99_ms": result["p99_ms"],
        **{f"inbox_{k}": v for k, v in load.percentiles(waits).items()},
    }


def sign_ins(
    port: int, names: list[str], password: str, *, concurrency: int, seconds: float
) -> dict[str, Any]:
    return closed_loop(
        port,
        SIGN_IN_PATH,
        names,
        "username",
        extra={"password": password},
        concurrency=concurrency,
        seconds=seconds,
        expect=302,
    )


def argon_bound(env: dict[str, str], procs: int, seconds: float) -> float:
    """Return argon2id verifications/s with Portero's settings on `procs` processes."""
    done = subprocess.run(  # noqa: S603  our own interpreter and fixed arguments
        [sys.executable, "-c", ARGON_SNIPPET, str(procs), str(seconds)],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    return round(float(done.stdout.strip().splitlines()[-1]), 1)


def agent_client(port: int, username: str, password: str) -> load.FormClient:
    client = load.FormClient(port, SIGN_IN_PATH, keep_cookies=True)
    status, _, _ = client.post({"username": username, "password": password})
    if status != 302:
        raise harness.BenchError(f"the help-desk agent could not sign in ({status})")
    return client


def mesa_search(
    client: load.FormClient, queries: list[str], *, per_query: int, budget: float
) -> dict[str, Any]:
    """Time GET /mesa/?q=... sequentially; return latencies per query."""
    out: dict[str, Any] = {}
    end = time.monotonic() + budget
    for query in queries:
        ms, statuses = [], set()
        for _ in range(per_query):
            if time.monotonic() > end:
                break
            status, took, _ = client.timed_get(f"/mesa/?q={query}")
            statuses.add(status)
            ms.append(took * 1000)
        out[query] = {"requests": len(ms), "statuses": sorted(statuses), **load.percentiles(ms)}
    return out


def two_instances(
    ports: tuple[int, int], names: list[str], sink: harness.Sink, timeout: float
) -> dict[str, Any]:
    """Ask on both instances, redeem each link on the other one, then try it again."""
    seen = sink.count()
    forms = [load.FormClient(p, RESET_PATH) for p in ports]
    for i, name in enumerate(names):
        status, _, _ = forms[i % 2].post({"username": name})
        if status != 302:
            raise harness.BenchError(f"reset request on :{ports[i % 2]} answered {status}")
    harness.wait_for(lambda: sink.count() - seen >= len(names), timeout=timeout, interval=0.25)
    links = [m["link"] for m in sink.messages()[seen:] if m["link"]]
    outcomes = []
    for i, link in enumerate(links):
        path = re.sub(r"^https?://[^/]+", "", link)
        first, second = ports[(i + 1) % 2], ports[i % 2]
        outcomes.append(
            {
                "redeemed_on": first,
                "redeemed": redeem(first, path),
                "second_use_on": second,
                "second_use_refused": not reopen(second, path),
            }
        )
    return {
        "requested": len(names),
        "links": len(links),
        "all_redeemed": bool(links) and all(o["redeemed"] for o in outcomes),
        "all_second_uses_refused": bool(links) and all(o["second_use_refused"] for o in outcomes),
        "outcomes": outcomes,
    }


def reopen(port: int, path: str) -> bool:
    """Return True if opening `path` again leads to a change-password form."""
    browser = load.FormClient(port, "", keep_cookies=True)
    browser.get(path)
    _, html = browser.get("/restablecer/")
    return NEW_PASSWORD_FORM in html


def redeem(port: int, path: str) -> bool:
    """Open the link on `port`, set a new password; return True if it was accepted."""
    browser = load.FormClient(port, "", keep_cookies=True)
    browser.get(path)
    if not reopen_form(browser):
        return False
    password = f"Tintal-lluvia-{secrets.token_urlsafe(12)}-cobre"
    status, _, location = browser.post(
        {"new_password1": password, "new_password2": password}, "/restablecer/"
    )
    return status == 302 and "listo" in location


def reopen_form(browser: load.FormClient) -> bool:
    try:
        browser.fetch_token("/restablecer/")
    except harness.BenchError:
        return False
    return True
