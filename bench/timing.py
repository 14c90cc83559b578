"""Timing benchmark: do known and unknown accounts take the same time? (FR1, FU1, LI1)

Starts a throw-away Portero on 127.0.0.1 (web server, worker, an SMTP sink), sends each public
form requests for existing and non-existing accounts in random order, and reports how well the
latency tells the two apart. Run on demand (see bench/README.md); it is not part of the tests.

    .venv/bin/python bench/timing.py [--requests N] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import secrets
import signal
import string
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

import harness
import stats
from harness import LOOPBACK, BenchError

BENCH_DIR = Path(__file__).resolve().parent
MIN_ACCOUNTS = 300
# LI2's per-account progressive delay starts after 5 consecutive failures: stay below it, so
# that the throttle (which is allowed to differ) never enters the measurement.
MAX_SIGN_INS_PER_ACCOUNT = 4

# Run by `python -c` in the run's environment. One argon2 hash is copied to every account:
# hashing each costs ~20 ms here (6 s for 300), and checking a wrong password costs the same
# whatever the salt. The password is random and never sent, so every sign-in below fails.
ACCOUNTS_SNIPPET = """
import secrets, sys
import django
django.setup()
from django.contrib.auth.hashers import make_password
from portero.accounts.models import User
count, width = int(sys.argv[1]), int(sys.argv[2])
if User.objects.exists():
    sys.exit("the database already has accounts: point --database-url at an empty database")
encoded = make_password(secrets.token_urlsafe(24))
names = [f"bench.user.{i:0{width}d}" for i in range(count)]
User.objects.bulk_create(
    User(username=n, email=f"{n}@example.com", full_name=f"Bench {n}", language="es-co",
         password=encoded)
    for n in names
)
"""


# --- What is measured ----------------------------------------------------------------------


def _wrong_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, never an account's password


@dataclass(frozen=True)
class Form:
    key: str
    title: str
    path: str
    expected_status: int  # what every answer must be, for known and unknown alike
    fields: Callable[[str], dict[str, str]]  # username -> POST fields besides the CSRF token
    sends_mail: bool  # a known identifier makes the worker deliver one e-mail


FORMS = (
    Form(
        "forgot_password",
        "forgot password",
        "/recuperar/contrasena/",
        302,
        lambda name: {"username": name},
        sends_mail=True,
    ),
    Form(
        "forgot_username",
        "forgot username",
        "/recuperar/usuario/",
        302,
        lambda name: {"email": f"{name}@example.com"},
        sends_mail=True,
    ),
    Form(
        "sign_in",
        "sign-in (wrong password)",
        "/ingresar/",
        200,
        lambda name: {"username": name, "password": _wrong_password()},
        sends_mail=False,
    ),
)


@dataclass(frozen=True)
class Sample:
    known: bool
    ms: float
    status: int
    length: int
    header_names: tuple[str, ...]


# --- Command line --------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--requests",
        type=int,
        default=400,
        help="timed POSTs per form, half known, half unknown (default 400)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="JSON result file (default bench/results/timing-<UTC date-time>.json)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--database-url",
        help="an EMPTY loopback database, e.g. "
        "postgres://postgres@127.0.0.1:5432/portero_bench (default: SQLite)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=20,
        help="untimed requests per form before measuring (default 20)",
    )
    parser.add_argument("--seed", type=int, help="random seed, to repeat an ordering")
    parser.add_argument(
        "--max-seconds", type=float, default=900, help="give up after this long (default 900)"
    )
    args = parser.parse_args(argv)
    _check_args(parser, args)
    return args


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.requests < 20 or args.requests % 2:
        parser.error("--requests must be an even number of at least 20")
    if args.warmup < 0 or args.warmup % 2:
        parser.error("--warmup must be an even number")
    if not 1 <= args.workers <= 16:
        parser.error("--workers must be between 1 and 16")
    if args.database_url and not harness.is_loopback_database(args.database_url):
        parser.error("--database-url must name a database on 127.0.0.1 (or a local socket)")
    if args.seed is None:
        args.seed = secrets.randbelow(2**32)


# --- Plans: who is asked about, in which order ---------------------------------------------


def account_count(requests: int, warmup: int) -> int:
    """Return how many accounts keep every account under the sign-in limit."""
    known_per_form = (requests + warmup) // 2
    return max(MIN_ACCOUNTS, math.ceil(known_per_form / MAX_SIGN_INS_PER_ACCOUNT))


def name_width(count: int) -> int:
    return max(3, len(str(count - 1)))


def account_names(count: int) -> list[str]:
    return [f"bench.user.{i:0{name_width(count)}d}" for i in range(count)]


def unknown_names(rng: random.Random, count: int, width: int) -> list[str]:
    """Return `count` distinct usernames no account has, shaped like the bench ones."""
    names: set[str] = set()
    while len(names) < count:
        middle = "".join(rng.choices(string.ascii_lowercase, k=4))
        if middle != "user":
            names.add(f"bench.{middle}.{rng.randrange(10**width):0{width}d}")
    return sorted(names)


def round_robin(rng: random.Random, pool: list[str], count: int) -> list[str]:
    """Return `count` names from `pool`, round robin over a shuffled copy (few uses each)."""
    if count > MAX_SIGN_INS_PER_ACCOUNT * len(pool):
        raise BenchError(f"{count} requests need more than {len(pool)} names")
    shuffled = rng.sample(pool, len(pool))
    return [shuffled[i % len(shuffled)] for i in range(count)]


def plan(rng: random.Random, known: list[str], unknown: list[str]) -> list[tuple[bool, str]]:
    """Return (known, username) pairs for both lists, shuffled together."""
    trials = [(True, n) for n in known] + [(False, n) for n in unknown]
    # A full shuffle, not strict alternation: the worker's background work for one request
    # lands on the next one, which strict alternation would make always the other kind.
    rng.shuffle(trials)
    return trials


def plans(
    rng: random.Random, known_pool: list[str], unknown_pool: list[str], args: argparse.Namespace
) -> tuple[list[tuple[bool, str]], list[tuple[bool, str]]]:
    """Return the warm-up and the timed plan of one form.

    Unknown names come from a pool of the same size, used on the same schedule: a name's
    first sign-in failure creates its throttle row and later ones update it, so both kinds
    must repeat names alike.
    """
    per_kind, split = (args.warmup + args.requests) // 2, args.warmup // 2
    known = round_robin(rng, known_pool, per_kind)
    unknown = round_robin(rng, unknown_pool, per_kind)
    return (plan(rng, known[:split], unknown[:split]), plan(rng, known[split:], unknown[split:]))


# --- Measuring -----------------------------------------------------------------------------


def run_form(
    client: harness.Client, form: Form, trials: list[tuple[bool, str]], deadline: float
) -> list[Sample]:
    samples = []
    for known, name in trials:
        harness.remaining(deadline)
        answer = client.submit(form.path, form.fields(name))
        samples.append(Sample(known, answer.ms, answer.status, answer.length, answer.header_names))
    return samples


def response_differences(samples: list[Sample], expected_status: int) -> list[str]:
    """Return how known and unknown answers differ in status, length and header names."""
    problems = []
    for label, key in (("status", "status"), ("body length", "length")):
        known = Counter(getattr(s, key) for s in samples if s.known)
        unknown = Counter(getattr(s, key) for s in samples if not s.known)
        if known != unknown:  # the two groups are the same size, so counts compare directly
            problems.append(f"{label}: known {dict(known)} vs unknown {dict(unknown)}")
    known_names = {n for s in samples if s.known for n in s.header_names}
    unknown_names = {n for s in samples if not s.known for n in s.header_names}
    if known_names != unknown_names:
        problems.append(f"header names on one side only: {sorted(known_names ^ unknown_names)}")
    wrong = Counter(s.status for s in samples if s.status != expected_status)
    if wrong:
        problems.append(f"unexpected status {dict(wrong)}, expected {expected_status}")
    return problems


def measure_form(
    client: harness.Client,
    sink: harness.Sink,
    form: Form,
    trials: tuple[list[tuple[bool, str]], list[tuple[bool, str]]],
    deadline: float,
) -> dict[str, Any]:
    """Warm up, then time one form; return its statistics, checks and raw samples."""
    warmup, timed = trials
    run_form(client, form, warmup, deadline)  # first hits import code and load templates
    mail_before = sink.count()
    samples = run_form(client, form, timed, deadline)
    return {
        "title": form.title,
        "path": form.path,
        **stats.compare([s.ms for s in samples if s.known], [s.ms for s in samples if not s.known]),
        "response_differences": response_differences(samples, form.expected_status),
        "mail_delivered_during_run": sink.count() - mail_before,
        "samples": [[s.known, round(s.ms, 3), s.status, s.length] for s in samples],
    }


def measure(
    client: harness.Client,
    sink: harness.Sink,
    args: argparse.Namespace,
    accounts: list[str],
    deadline: float,
) -> dict[str, Any]:
    """Measure every form in turn; return the results by form key."""
    rng = random.Random(args.seed)
    strangers = unknown_names(rng, len(accounts), name_width(len(accounts)))
    results = {}
    for form in FORMS:
        trials = plans(rng, accounts, strangers, args)
        print(f"  {form.title}: {args.requests} timed requests", file=sys.stderr, flush=True)
        results[form.key] = measure_form(client, sink, form, trials, deadline)
    return results


def run(args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    """Set up a throw-away Portero, measure it, stop it; return the results."""
    with tempfile.TemporaryDirectory(prefix="portero-bench-") as tmp, ExitStack() as stack:
        var_dir = Path(tmp)
        web_port = harness.free_port()
        smtp_port = harness.free_port(other_than=web_port)
        env = harness.portero_env(var_dir, web_port, smtp_port, args.database_url)
        count = account_count(args.requests, args.warmup)
        print(f"portero-bench: migrating, creating {count} accounts", file=sys.stderr, flush=True)
        harness.run_python(
            "portero migrate",
            ["-m", "portero.cli", "migrate", "--no-input", "-v", "0"],
            env,
            deadline,
        )
        harness.run_python(
            "creating the accounts",
            ["-c", ACCOUNTS_SNIPPET, str(count), str(name_width(count))],
            env,
            deadline,
        )
        sink = stack.enter_context(harness.sink(smtp_port, 0.0, var_dir, env))
        children = [
            stack.enter_context(harness.portero(["worker"], env, var_dir / "worker.log")),
            stack.enter_context(
                harness.portero(
                    ["serve", "--workers", str(args.workers)], env, var_dir / "serve.log"
                )
            ),
        ]
        try:
            return measured_run(args, sink, children, web_port, count, deadline)
        except (BenchError, OSError) as error:
            tails = "\n".join(child.tail() for child in children)
            raise BenchError(f"{error}\n{tails}") from error


def measured_run(
    args: argparse.Namespace,
    sink: harness.Sink,
    children: list[harness.Child],
    web_port: int,
    count: int,
    deadline: float,
) -> dict[str, Any]:
    harness.wait_until_serving(web_port, "/ingresar/", children, deadline)
    print(f"portero-bench: serving on {LOOPBACK}:{web_port}", file=sys.stderr, flush=True)
    client = harness.Client(web_port)
    try:
        forms = measure(client, sink, args, account_names(count), deadline)
    finally:
        client.close()
    harness.check_alive(children)
    expected = sum((args.requests + args.warmup) // 2 for form in FORMS if form.sends_mail)
    # A bounded time for the worker to deliver what the run queued; the JSON says how much.
    harness.wait_for(
        lambda: sink.count() >= expected,
        children=children,
        timeout=min(harness.MAIL_DRAIN_TIMEOUT, harness.remaining(deadline)),
    )
    return {
        "accounts": count,
        "forms": forms,
        "mail": {"expected": expected, "delivered": sink.count()},
    }


# --- Output --------------------------------------------------------------------------------

HEADER = (
    f"{'form':<26}{'known/unk':>10}{'med known':>11}{'med unk':>9}{'p90 known':>11}"
    f"{'p90 unk':>9}{'gap':>8}{'AUC':>7}{'p':>7}  verdict"
)


def table(forms: dict[str, Any]) -> str:
    """Return the results as a fixed-width table (milliseconds)."""
    lines = [HEADER]
    for result in forms.values():
        lines.append(
            f"{result['title']:<26}{result['known']:>5}/{result['unknown']:<4}"
            f"{result['median_known_ms']:>11.2f}{result['median_unknown_ms']:>9.2f}"
            f"{result['p90_known_ms']:>11.2f}{result['p90_unknown_ms']:>9.2f}"
            f"{result['median_gap_ms']:>+8.2f}{result['auc']:>7.3f}{result['p_value']:>7.3f}"
            f"  {result['verdict']}"
        )
        lines += [f"{'':<26}responses differ: {p}" for p in result["response_differences"]]
    return "\n".join(lines)


def report(
    args: argparse.Namespace,
    started: datetime,
    seconds: float,
    outcome: dict[str, Any],
    load_before: float,
) -> dict[str, Any]:
    return {
        "benchmark": "portero timing side channel (FR1, FU1, LI1)",
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round(seconds, 1),
        "settings": {
            "requests_per_form": args.requests,
            "warmup_per_form": args.warmup,
            "web_workers": args.workers,
            "accounts": outcome["accounts"],
            "seed": args.seed,
            "database": "postgresql" if args.database_url else "sqlite",
            "no_leak_auc": list(stats.NO_LEAK_AUC),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "portero": metadata.version("portero"),
            # Other work on the machine widens both distributions and can tilt the AUC.
            "load_average_1min": {
                "before": round(load_before, 2),
                "after": round(os.getloadavg()[0], 2),
            },
        },
        "mail": outcome["mail"],
        "forms": outcome["forms"],
    }


def footer(data: dict[str, Any], out: Path) -> str:
    mail, load = data["mail"], data["machine"]["load_average_1min"]
    return (
        f"\n{table(data['forms'])}\n\ntimes in ms; gap = median known - median unknown; "
        f"AUC 0.5 = indistinguishable\nmail delivered to the sink: {mail['delivered']} of "
        f"{mail['expected']}; load average {load['before']:.2f} before, {load['after']:.2f} "
        f"after ({data['machine']['cpus']} CPUs); seed {data['settings']['seed']}\n"
        f"results in {out}"
    )


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` whole or not at all (an interrupted write leaves only a .tmp file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(data, indent=1) + "\n")
    partial.replace(path)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Unwind on Ctrl-C or SIGTERM, so that every child is stopped on the way out."""
    # A second signal must not cut the stopping short and leave children behind; stopping
    # is bounded by harness.STOP_TIMEOUT anyway.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGINT too: a shell starts background jobs with it ignored, and Python keeps that.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    started = datetime.now(UTC)
    out = args.out or BENCH_DIR / "results" / f"timing-{started:%Y%m%dT%H%M%SZ}.json"
    clock, load_before = time.monotonic(), os.getloadavg()[0]
    try:
        outcome = run(args, clock + args.max_seconds)
    except KeyboardInterrupt:
        print("portero-bench: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    except BenchError as error:
        print(f"portero-bench: failed: {error}", file=sys.stderr)
        return 1
    data = report(args, started, time.monotonic() - clock, outcome, load_before)
    write_json(out, data)
    print(footer(data, out))
    clean = all(
        f["verdict"] == stats.NO_LEAK and not f["response_differences"]
        for f in data["forms"].values()
    )
    return 0 if clean else 3  # 2 is argparse's usage error


if __name__ == "__main__":
    sys.exit(main())
