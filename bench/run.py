"""Portero under load, against a stock Django PasswordResetView: one command, on loopback.

    .venv/bin/python bench/run.py [--database sqlite|postgres] [--quick] [--skip-million]
                                  [--skip-two] [--workers W] [--worker-processes N]
                                  [--only federation|headline]

First the headline (headline.py) on each database, SQLite and PostgreSQL by default: known
resets against stock Django and the bare-INSERT limit, the worker's longest write transaction,
the queue's drain after a 30 s saturation phase. Then, on PostgreSQL, the rest:
creates scratch PostgreSQL databases (portero_bench*, dropped afterwards), starts SMTP sinks,
`portero serve`/`portero worker` and a gunicorn-served stock Django project (bench/peers/),
measures, stops everything by PID, and writes bench/results/<date>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import harness
import headline
import oidc
import phases
import psycopg
import report
import stack
import users
from harness import BenchError

PASSWORD = "Cobre-lluvia-Tintal-2026-bench"  # noqa: S105  bench accounts only
SMALL, MILLION = 1_000, 1_000_000
SIGN_IN_CONCURRENCY = 4  # clients of the sign-in phase, and of the whole code flow
TOKEN_CONCURRENCY = 8
HASH_SNIPPET = (
    "import django, sys; django.setup(); "
    "from django.contrib.auth.hashers import make_password; "
    "print(make_password(sys.argv[1]))"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s phases (a smoke test)")
    parser.add_argument("--skip-million", action="store_true")
    parser.add_argument("--skip-two", action="store_true", help="skip the two-instance check")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for both")
    parser.add_argument(
        "--worker-processes", type=int, default=1, help="`portero worker` processes (default 1)"
    )
    parser.add_argument(
        "--only",
        choices=["federation", "headline"],
        help="only the OpenID Connect phases (code flow, token endpoint), or "
        "only the headline on each database",
    )
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgres"],
        help="the headline on this database only (default: both); the other "
        "phases run on PostgreSQL only",
    )
    args = parser.parse_args()
    args.phase = 3.0 if args.quick else 10.0
    args.code_batch = 200 if args.quick else 500  # codes prepared per measured stretch
    args.inbox_seconds = 5.0 if args.quick else 20.0
    return args


def py(env: dict[str, str], *argv: str, stdin: str | None = None) -> str:
    done = subprocess.run(  # noqa: S603
        [sys.executable, *argv],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode:
        raise BenchError(f"{argv[:3]} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def prepare_stock(env: dict[str, str], url: str, count: int) -> None:
    py(env, "-m", "django", "migrate", "-v", "0")
    encoded = py(env, "-c", HASH_SNIPPET, PASSWORD)
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cur,
        cur.copy(
            "COPY auth_user (password, is_superuser, username, first_name, last_name, email,"
            " is_staff, is_active, date_joined) FROM STDIN"
        ) as copy,
    ):
        for i in range(count):
            name, email, _ = users.account(i)
            copy.write_row(
                (encoded, False, name, "", "", email, False, True, datetime(2025, 1, 1, tzinfo=UTC))
            )


class Run:
    SMALL = SMALL

    def __init__(self, args: argparse.Namespace, tmp: Path, es: ExitStack) -> None:
        self.args, self.tmp, self.es = args, tmp, es
        self.postgres_phases = args.only != "headline" and args.database != "sqlite"
        self.url = (
            es.enter_context(stack.scratch_database("portero_bench_main"))
            if self.postgres_phases
            else ""
        )
        self.stock_url = (
            ""
            if args.only or not self.postgres_phases
            else es.enter_context(stack.scratch_database("portero_bench_stock"))
        )
        self.web, self.web2, self.smtp, self.stock_port = (harness.free_port() for _ in "1234")
        self.env = harness.portero_env(tmp, self.web, self.smtp, self.url)
        # Production refuses to sign without a key file: `portero keys rotate` creates it.
        self.env["PORTERO_OIDC_KEYS_FILE"] = str(tmp / "oidc-keys.json")
        self.stock_env = stack.stock_env(os.environ.copy(), "portero_bench_stock", self.smtp)
        own = [i for i in range(SMALL) if users.has_own_email(i)]
        self.known = [users.account(i)[0] for i in own]
        self.known_emails = [users.account(i)[1] for i in own]
        self.unknown = [f"nadie.{secrets.token_hex(3)}{i}" for i in range(len(own))]
        self.unknown_emails = [f"{n}@example.org" for n in self.unknown]
        self.out: dict[str, Any] = {"growth": {}}

    @staticmethod
    def py(env: dict[str, str], *argv: str, stdin: str | None = None) -> str:
        return py(env, *argv, stdin=stdin)

    @staticmethod
    def base_env() -> dict[str, str]:
        return os.environ.copy()

    def headline(self) -> dict[str, Any]:
        """The headline on each database asked for (headline.py)."""
        self.hash = py(
            harness.portero_env(self.tmp, self.web, self.smtp, None), "-c", HASH_SNIPPET, PASSWORD
        )
        self.stock_hash = py(self.stock_env, "-c", HASH_SNIPPET, PASSWORD)
        kinds = [self.args.database] if self.args.database else ["sqlite", "postgres"]
        return {f"headline_{kind}": headline.measure(self, kind) for kind in kinds}

    def log(self, text: str) -> None:
        # Other jobs on the machine disturb every number: keep the load next to each phase.
        load = round(os.getloadavg()[0], 2)
        self.out.setdefault("load_average", []).append([time.strftime("%H:%M:%S"), text, load])
        print(f"[{time.strftime('%H:%M:%S')}] {text} (load {load})", file=sys.stderr, flush=True)

    def prepare(self) -> None:
        where = " in each database" if self.stock_url else ""
        self.log(f"migrating, loading 1,000 accounts{where}")
        py(self.env, "-m", "portero.cli", "migrate", "--no-input", "-v", "0")
        self.hash = py(self.env, "-c", HASH_SNIPPET, PASSWORD)
        users.load(self.url, start=0, count=SMALL, password_hash=self.hash, rebuild_indexes=False)
        py(
            self.env,
            "-m",
            "portero.cli",
            "createuser",
            "--username",
            "mesa.agente",
            "--email",
            "mesa.agente@example.gov.co",
            "--role",
            "agent",
            stdin=PASSWORD + "\n",
        )
        self.portal = oidc.prepare(self.env)
        if self.stock_url:
            prepare_stock(self.stock_env, self.stock_url, SMALL)

    def servers(self, es: ExitStack, delay: float, *, stock: bool = True) -> harness.Sink:
        sink = es.enter_context(harness.sink(self.smtp, delay, self.tmp, self.env))
        kids = [
            es.enter_context(harness.portero(["worker"], self.env, self.tmp / f"worker{n}.log"))
            for n in range(self.args.worker_processes)
        ]
        kids.append(
            es.enter_context(
                harness.portero(
                    ["serve", "--workers", str(self.args.workers)], self.env, self.tmp / "serve.log"
                )
            )
        )
        harness.wait_until_serving(self.web, "/ingresar/", kids, time.monotonic() + 60)
        if stock:
            kids.append(
                es.enter_context(
                    stack.stock_server(
                        self.stock_env, self.stock_port, self.args.workers, self.tmp / "stock.log"
                    )
                )
            )
            harness.wait_until_serving(
                self.stock_port, "/password_reset/", kids, time.monotonic() + 60
            )
        return sink

    def rates(self, delay: float) -> dict[str, Any]:
        label = "instant" if not delay else f"{delay * 1000:.0f} ms"
        with ExitStack() as es:
            sink = self.servers(es, delay)
            self.log(f"reset rates, sink {label}: Portero")
            portero = phases.reset_rates(
                self.web, phases.RESET_PATH, self.known, self.unknown, "username", self.args.phase
            )
            backlog = stack.pending(self.url)
            result: dict[str, Any] = {"portero": portero, "backlog_after_portero": backlog}
            # The peer gets a machine as quiet as Portero had: Portero's worker first finishes
            # what the load left it (instant sink) or it is dropped (50 ms sink: one connection
            # sends 20 messages/s, minutes of work).
            if delay:
                self.log(f"cancelling Portero's backlog of {backlog}")
                result["backlog_cancelled"] = stack.clear_backlog(self.url)
            else:
                self.log(f"waiting for Portero's worker to drain its backlog of {backlog}")
                result["drain_s"] = stack.wait_idle(self.url, 180)
                result["backlog_left"] = stack.pending(self.url)
            result["delivered"] = sink.count()
            self.log(f"reset rates, sink {label}: stock Django")
            result["stock"] = phases.reset_rates(
                self.stock_port,
                phases.STOCK_PATH,
                self.known_emails,
                self.unknown_emails,
                "email",
                self.args.phase,
            )
            if not delay:
                self.small_phases(sink)
            self.out["growth"][f"after_{label}"] = stack.table_counts(self.url)
        return result

    def small_phases(self, sink: harness.Sink) -> None:
        for rate in (10, 100):
            self.log(f"time to inbox at {rate}/s")
            self.out[f"inbox_{rate}"] = phases.time_to_inbox(
                self.web,
                self.known,
                sink,
                rate=rate,
                seconds=self.args.inbox_seconds,
                drain_timeout=60,
            )
            stack.wait_idle(self.url, 60)
        self.scale_phases("users_1000")

    def scale_phases(self, key: str) -> None:
        self.log(f"{key}: resets, sign-ins, argon2 bound, help-desk search")
        known = phases.reset_rates(
            self.web, phases.RESET_PATH, self.known, self.unknown, "username", self.args.phase
        )
        # The bound and the sign-ins need the worker idle: a worker still sending the resets'
        # e-mails would lower the bound and flatter the ratio.
        drain = stack.wait_idle(self.url, 180)
        if stack.pending(self.url):
            raise BenchError(f"the worker still had work after {drain} s; the bound would be low")
        # The bound right before and right after the sign-ins: other work on the machine
        # moves both, and the mean of the two is the fairest bound for the phase between.
        bounds = [phases.argon_bound(self.env, self.args.workers, 5.0)]
        signin = phases.sign_ins(
            self.web, self.known, PASSWORD, concurrency=SIGN_IN_CONCURRENCY, seconds=self.args.phase
        )
        bounds.append(phases.argon_bound(self.env, self.args.workers, 5.0))
        bound = round(sum(bounds) / 2, 1)
        stack.wait_idle(self.url, 60)
        agent = phases.agent_client(self.web, "mesa.agente", PASSWORD)
        search = phases.mesa_search(
            agent, ["gonzalez4", "compras1@entidad", "proveedor99"], per_query=20, budget=25
        )
        self.out[key] = {
            "resets": known,
            "drain_s": drain,
            "sign_in": signin,
            "argon2_bound_per_s": bound,
            "argon2_bound_before_after": bounds,
            "sign_in_vs_bound": round(signin["rps"] / bound, 2),
            "mesa_search": search,
        }

    def federation(self) -> None:
        """Whole code flows against the argon2 bound, then the token endpoint alone."""
        with ExitStack() as es:
            self.servers(es, 0.0, stock=False)
            stack.wait_idle(self.url, 180)
            self.log(f"federation: code flows, {SIGN_IN_CONCURRENCY} clients")
            # Measured like the sign-ins: the bound right before and right after.
            bounds = [phases.argon_bound(self.env, self.args.workers, 5.0)]
            flows = oidc.code_flows(
                self.web,
                self.portal,
                self.known,
                PASSWORD,
                concurrency=SIGN_IN_CONCURRENCY,
                seconds=self.args.phase,
            )
            bounds.append(phases.argon_bound(self.env, self.args.workers, 5.0))
            bound = round(sum(bounds) / 2, 1)
            drain = stack.wait_idle(self.url, 180)
            self.log(f"federation: token endpoint, {TOKEN_CONCURRENCY} clients")
            browsers = oidc.signed_in_browsers(
                self.web, self.portal, self.known, PASSWORD, TOKEN_CONCURRENCY
            )
            token = oidc.token_endpoint(
                self.web,
                self.portal,
                browsers,
                concurrency=TOKEN_CONCURRENCY,
                seconds=self.args.phase,
                batch=self.args.code_batch,
            )
            # One client: the request's own cost, without waiting behind the others.
            alone = oidc.token_endpoint(
                self.web,
                self.portal,
                browsers,
                concurrency=1,
                seconds=0.0,
                batch=self.args.code_batch // 2,
            )
        self.out["federation"] = {
            "code_flow": flows,
            "argon2_bound_per_s": bound,
            "argon2_bound_before_after": bounds,
            "code_flow_vs_bound": round(flows["rps"] / bound, 2),
            "drain_s": drain,
            "token": token,
            "token_c1": alone,
        }
        self.out["growth"]["after_federation"] = stack.table_counts(self.url)

    def million(self) -> None:
        self.log("loading 999,000 more accounts (COPY, then index rebuild)")
        took = users.load(self.url, start=SMALL, count=MILLION - SMALL, password_hash=self.hash)
        self.out["million_load"] = took
        with ExitStack() as es:
            self.servers(es, 0.0, stock=False)
            self.scale_phases("users_1000000")
        self.out["growth"]["after_million"] = stack.table_counts(self.url)

    def two(self) -> None:
        self.log("two instances, one worker, Redis")
        env2 = {
            **self.env,
            "REDIS_URL": "redis://127.0.0.1:6379/13",
            "PORTERO_RATE_LIMITS": "on",
            "PORTERO_EXTRA_HOSTS": "localhost",
        }
        with ExitStack() as es:
            sink = es.enter_context(harness.sink(self.smtp, 0.0, self.tmp, env2))
            kids = [es.enter_context(harness.portero(["worker"], env2, self.tmp / "w2.log"))]
            for port in (self.web, self.web2):
                kids.append(
                    es.enter_context(
                        harness.portero(
                            ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                            env2,
                            self.tmp / f"serve-{port}.log",
                        )
                    )
                )
                harness.wait_until_serving(port, "/ingresar/", kids, time.monotonic() + 60)
            names = [users.account(i)[0] for i in range(500, 520) if users.has_own_email(i)]
            self.out["two_instances"] = phases.two_instances(
                (self.web, self.web2), names, sink, timeout=30
            )

    def cleanup(self) -> None:
        self.log("cleanup of expired rows (recovery_history_purge, retention moved back)")
        snippet = (
            "import django; django.setup(); from portero.recovery.services import "
            "recovery_history_purge; print(recovery_history_purge())"
        )
        before = stack.table_counts(self.url)
        with psycopg.connect(self.url) as conn:
            conn.execute(
                "UPDATE recovery_recoveryrequest SET created_at = created_at - "
                "interval '91 days' WHERE id % 2 = 0"
            )
            conn.execute(
                "UPDATE mail_outboundemail SET created_at = created_at - "
                "interval '91 days' WHERE id % 2 = 0"
            )
            conn.execute(
                "UPDATE recovery_passwordreset SET expires_at = expires_at - "
                "interval '91 days' WHERE id % 2 = 0 AND NOT EXISTS (SELECT 1 FROM "
                "mail_outboundemail m WHERE m.reset_id = recovery_passwordreset.id)"
            )
        deleted = int(py(self.env, "-c", snippet))
        self.out["cleanup"] = {
            "before": before,
            "deleted": deleted,
            "after": stack.table_counts(self.url),
        }


class Done(Exception):
    """The phases asked for are done (the rest needs PostgreSQL, or was not asked for)."""


def code_version() -> dict[str, Any]:
    """Return the commit measured, and whether src/ had uncommitted changes (also measured)."""

    def git(*argv: str) -> str:
        done = subprocess.run(  # noqa: S603
            ["git", *argv],  # noqa: S607
            cwd=harness.BENCH_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "src_modified": bool(git("status", "--porcelain", "--", "../src")),
    }


def main() -> int:
    args = parse_args()
    version = code_version()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    started = datetime.now(UTC)
    clock = time.monotonic()
    data: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="portero-bench-") as tmp, ExitStack() as es:
        run = Run(args, Path(tmp), es)
        try:
            if args.only != "federation":
                data.update(run.headline())
            if not run.postgres_phases:
                raise Done
            run.prepare()
            if args.only != "federation":
                data["sink_instant"] = run.rates(0.0)
                data["sink_50ms"] = run.rates(0.05)
            run.federation()
            if not args.only:
                if not args.skip_million:
                    run.million()
                if not args.skip_two:
                    run.two()
                run.cleanup()
        except Done:
            pass
        except (BenchError, OSError, subprocess.SubprocessError) as error:
            print(f"run failed: {error}", file=sys.stderr)
            for log in Path(tmp).glob("*.log"):
                print(
                    f"--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-15:]),
                    file=sys.stderr,
                )
            return 1
        finally:
            data.update(run.out)
    data["meta"] = {
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - clock),
        "quick": args.quick,
        "only": args.only,
        "database": args.database or "both",
        **version,
        "web_workers": args.workers,
        "worker_processes": args.worker_processes,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_end": os.getloadavg()[0],
    }
    out = harness.BENCH_DIR / "results" / f"{started:%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")
    table = report.markdown(data)
    out.with_suffix(".md").write_text(table + "\n")
    print(table)
    print(f"\nresults in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
