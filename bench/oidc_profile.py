"""Where the code flow's time goes, in one process: each step's time and SQL statements, and
what a token request spends its time on.

    .venv/bin/python bench/oidc_profile.py [--flows N] [--show-sql STEP] [--tree]

Creates a scratch PostgreSQL database (portero_bench_profile, dropped afterwards) with
Portero's production settings, as bench/run.py does, a signing key (`portero keys rotate`), a
client (`portero client add`) and N accounts. Then, through Django's test client (no HTTP
server, no other load: Portero's own work, one request at a time):

1. N whole code flows from fresh browsers, each step timed and its statements counted;
2. 2N more codes from one signed-in browser, redeemed one by one: half without a profiler,
   half under cProfile, whose cumulative times of a few functions say where the time goes
   (or, with --tree, under pyinstrument, which prints the call tree).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import oidc
import stack

PASSWORD = "Cobre-lluvia-Tintal-2026-bench"  # noqa: S105  bench accounts only
HOST = "127.0.0.1"
# (label, module file fragment, function name): cumulative time of each, per token request.
PARTS = (
    ("the whole request (Django handler)", "django/core/handlers/base.py", "_get_response"),
    (
        "oauthlib's token endpoint",
        "oauthlib/oauth2/rfc6749/endpoints/token.py",
        "create_token_response",
    ),
    (
        "client authentication (look-up and hash)",
        "oauth2_provider/oauth2_validators.py",
        "authenticate_client",
    ),
    ("  of which the secret's SHA-256 check", "portero/federation/hashers.py", "verify"),
    (
        "code and PKCE checks",
        "oauthlib/oauth2/rfc6749/grant_types/authorization_code.py",
        "validate_token_request",
    ),
    ("ID token: claims, signing, saving", "portero/federation/validators.py", "finalize_id_token"),
    ("  of which RS256 signing (jwcrypto)", "jwcrypto/jws.py", "add_signature"),
    (
        "access and refresh tokens saved, code used",
        "portero/federation/validators.py",
        "save_bearer_token",
    ),
    ("  of which the audit event", "portero/audit/services.py", "event_record"),
    ("SQL: execute, round trips included", "django/db/backends/utils.py", "_execute"),
    ("SQL: commits", "django/db/backends/base/base.py", "commit"),
)


def setup(tmp: Path, url: str) -> oidc.Portal:
    """Migrate, create the key and the client with Portero's commands; become that process."""
    env = harness.portero_env(tmp, 8000, 8025, url)
    env["PORTERO_OIDC_KEYS_FILE"] = str(tmp / "oidc-keys.json")
    subprocess.run(
        [sys.executable, "-m", "portero.cli", "migrate", "--no-input", "-v", "0"],
        env=env,
        check=True,
        capture_output=True,
    )
    portal = oidc.prepare(env)
    os.environ.clear()
    os.environ.update(env)
    return portal


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--flows", type=int, default=100)
    parser.add_argument(
        "--show-sql", metavar="STEP", choices=oidc.STEPS, help="print the statements of one step"
    )
    parser.add_argument(
        "--tree",
        action="store_true",
        help="a pyinstrument call tree of the token requests (pip install "
        "pyinstrument) instead of the cProfile parts",
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="portero-profile-") as tmp,
        stack.scratch_database("portero_bench_profile") as url,
    ):
        portal = setup(Path(tmp), url)
        import django

        django.setup()
        profile(portal, args)
    return 0


def profile(portal: oidc.Portal, args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from portero.accounts.services import user_create

    names = [f"perfil.{i:04d}" for i in range(args.flows)]
    for name in names:
        user_create(username=name, email=f"{name}@example.com", password=PASSWORD)

    def timed(step: str, call: Callable[[], Any], into: dict[str, list[tuple[float, int]]]) -> Any:
        connection.queries_log.clear()  # it keeps at most 9,000: count from empty
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = call()
            ms = (time.perf_counter() - start) * 1000
        into.setdefault(step, []).append((ms, len(queries.captured_queries)))
        if args.show_sql == step and len(into[step]) == 2:  # the second: caches warm
            print(f"SQL of one '{step}':")
            for query in queries.captured_queries:
                print("  ", query["sql"][:150])
        return response

    def token_post(code: str, verifier: str) -> Any:
        response = Client(HTTP_HOST=HOST).post(
            "/o/token/",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": portal.redirect_uri,
                "code_verifier": verifier,
            },
            HTTP_AUTHORIZATION=portal.basic,
        )
        if response.status_code != 200:
            raise SystemExit(f"token: {response.status_code} {response.content[:200]!r}")
        return response

    steps: dict[str, list[tuple[float, int]]] = {}
    for name in names:
        browser = Client(HTTP_HOST=HOST)
        verifier, challenge = oidc.pkce()
        first = timed(
            "authorize", lambda b=browser, c=challenge: b.get(oidc.authorize_path(portal, c)), steps
        )
        timed("sign_in_form", lambda b=browser, f=first: b.get(f["Location"]), steps)
        signed_in = timed(
            "sign_in",
            lambda b=browser, n=name: b.post("/ingresar/", {"username": n, "password": PASSWORD}),
            steps,
        )
        back = timed("authorize_again", lambda b=browser, s=signed_in: b.get(s["Location"]), steps)
        token = timed(
            "token", lambda v=verifier, r=back: token_post(oidc.code_of(r["Location"]), v), steps
        )
        access = token.json()["access_token"]
        timed(
            "userinfo",
            lambda a=access: Client(HTTP_HOST=HOST).get(
                "/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {a}"
            ),
            steps,
        )
    print(
        f"One code flow, step by step ({args.flows} flows, one at a time, in process; "
        "each a new person, so the token request also creates their `sub`):"
    )
    print(f"  {'step':18} {'median ms':>10} {'statements':>11}")
    total = 0.0
    for step in oidc.STEPS:
        median = statistics.median(ms for ms, _ in steps[step])
        total += median
        print(f"  {step:18} {median:10.2f} {statistics.median(n for _, n in steps[step]):11.0f}")
    print(f"  {'total':18} {total:10.2f}")

    browser = Client(HTTP_HOST=HOST)
    browser.get(oidc.authorize_path(portal, oidc.pkce()[1]))
    browser.post("/ingresar/", {"username": names[0], "password": PASSWORD})
    codes = []
    for _ in range(2 * args.flows):
        verifier, challenge = oidc.pkce()
        codes.append(
            (
                oidc.code_of(browser.get(oidc.authorize_path(portal, challenge))["Location"]),
                verifier,
            )
        )
    plain = []
    for code, verifier in codes[: args.flows]:
        start = time.perf_counter()
        token_post(code, verifier)
        plain.append((time.perf_counter() - start) * 1000)
    print(
        f"\nToken requests alone, no profiler: median {statistics.median(plain):.2f} ms, "
        f"p90 {statistics.quantiles(plain, n=10)[-1]:.2f} ms over {len(plain)}"
    )
    rest = codes[args.flows :]
    if args.tree:
        from pyinstrument import Profiler

        tree = Profiler(interval=0.0002)
        with tree:
            for code, verifier in rest:
                token_post(code, verifier)
        print(tree.output_text(color=False, show_all=False))
        return
    parts = token_parts(rest, token_post)
    print(f"Under cProfile (its overhead inflates Python, not SQL), per request over {len(rest)}:")
    for label, _, _ in PARTS:
        print(f"  {label:45} {parts.get(label, 0.0):6.2f} ms")
    print(
        json.dumps(
            {
                "steps": {
                    s: {
                        "median_ms": round(statistics.median(m for m, _ in v), 2),
                        "statements": statistics.median(n for _, n in v),
                    }
                    for s, v in steps.items()
                },
                "token_median_ms": round(statistics.median(plain), 2),
                "token_parts_ms": {k: round(v, 2) for k, v in parts.items()},
            }
        )
    )


def token_parts(
    codes: list[tuple[str, str]], redeem: Callable[[str, str], Any]
) -> dict[str, float]:
    """Redeem `codes` under cProfile; return the cumulative ms of each of PARTS per request."""
    profiler = cProfile.Profile()
    for code, verifier in codes:
        profiler.enable()
        redeem(code, verifier)
        profiler.disable()
    per_request: dict[str, float] = {}
    stats = pstats.Stats(profiler)
    for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        for label, fragment, function in PARTS:
            if name == function and fragment in filename:
                per_request[label] = per_request.get(label, 0.0) + row[3] * 1000 / len(codes)
    return per_request


if __name__ == "__main__":
    sys.exit(main())
