"""Prometheus metrics, on their own address (PORTERO_METRICS_BIND), never on the public site.

`portero serve` runs gunicorn workers in prometheus_client's multiprocess mode: each worker
writes its counters to files in a fresh directory, and the master serves their sum together
with the queue gauges, which are read from the database at scrape time. `portero worker`
serves its own metrics (heartbeat, items handled) on the same host at port + 1.
Every metric is described in docs/operations.md.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
    values,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from portero.audit.events import EventType
from portero.audit.models import AuditEvent
from portero.core import clock, write_lock
from portero.federation.models import DeliveryStatus, LogoutDelivery
from portero.mail.models import EmailStatus, OutboundEmail

log = logging.getLogger(__name__)

# Created unregistered: in multiprocess mode the values live in files that the scrape
# endpoint reads, and the worker's registry must not show them.
REQUEST_SECONDS = Histogram(
    "portero_http_request_duration_seconds",
    "Time to answer a request, by URL pattern name (never the path) and status class.",
    ["route", "status"],
    registry=None,
)
SIGN_INS = Counter("portero_sign_ins", "Sign-in attempts, by outcome.", ["outcome"], registry=None)
RECOVERY_REQUESTS = Counter(
    "portero_recovery_requests",
    "Recovery form submissions, by kind (password, username) and outcome (accepted, throttled).",
    ["kind", "outcome"],
    registry=None,
)

_SIGN_IN_OUTCOMES = {
    EventType.SIGN_IN_OK: "ok",
    EventType.SIGN_IN_FAILED: "failed",
    EventType.SIGN_IN_THROTTLED: "throttled",
    EventType.SIGN_IN_LOCKED: "locked",
}
_RECOVERY_KINDS = {
    EventType.RESET_REQUESTED: "password",
    EventType.USERNAME_REMINDER_REQUESTED: "username",
}
_WAITING_MAIL = [EmailStatus.QUEUED, EmailStatus.RETRYING, EmailStatus.SENDING]
_WAITING_LOGOUTS = [DeliveryStatus.QUEUED, DeliveryStatus.RETRYING, DeliveryStatus.SENDING]


def metrics_address(bind: str) -> tuple[str, int]:
    """Return (host, port) of a `host:port` or `[v6]:port` bind address."""
    host, _, port = bind.rpartition(":")
    return host.strip("[]"), int(port)


# --- Web requests -------------------------------------------------------------------------


class RequestMetricsMiddleware:
    """Time every request under its URL pattern's name: tokens live in paths, names do not."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        REQUEST_SECONDS.labels(
            route=route_name(request), status=f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
        return response


def route_name(request: HttpRequest) -> str:
    """Return the name of the URL pattern that answered, "static" or "unmatched"."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


class SecurityEventCounter(logging.Handler):
    """Count sign-ins and recovery requests from the security log's JSON lines."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = json.loads(record.getMessage())
            event, outcome = line["event"], str(line["outcome"])
        except (ValueError, KeyError, TypeError):
            return  # not an event line: nothing to count
        if event in _SIGN_IN_OUTCOMES:
            SIGN_INS.labels(outcome=_SIGN_IN_OUTCOMES[event]).inc()
        elif event in _RECOVERY_KINDS:
            RECOVERY_REQUESTS.labels(kind=_RECOVERY_KINDS[event], outcome=outcome).inc()


def security_events_count() -> None:
    """Count the security events this process logs (called once, at start-up)."""
    logger = logging.getLogger("portero.security")
    if not any(isinstance(h, SecurityEventCounter) for h in logger.handlers):
        logger.addHandler(SecurityEventCounter(level=logging.INFO))


# --- Queues, read at scrape time ----------------------------------------------------------


class QueueCollector(Collector):
    """Outbox, back-channel logouts and unsealed audit rows: three small queries per scrape."""

    def collect(self) -> Iterator[Metric]:
        close_old_connections()
        try:
            yield from _queue_metrics()
        except DatabaseError as exc:
            log.warning("metrics: the database cannot be read (%s)", type(exc).__name__)
        finally:
            connection.close()  # the scrape thread holds no connection between scrapes


def _queue_metrics() -> Iterator[Metric]:
    now = clock.now()
    outbox = GaugeMetricFamily(
        "portero_outbox_messages", "E-mails not yet sent or given up, by status.", labels=["status"]
    )
    mail = {
        row["status"]: row
        for row in OutboundEmail.objects.filter(status__in=_WAITING_MAIL)
        .order_by()
        .values("status")
        .annotate(n=Count("id"), oldest=Min("created_at"))
    }
    for status in _WAITING_MAIL:
        outbox.add_metric([status.value], mail[status]["n"] if status in mail else 0)
    oldest = min((row["oldest"] for row in mail.values()), default=None)
    yield outbox
    yield GaugeMetricFamily(
        "portero_outbox_oldest_age_seconds",
        "Age of the oldest e-mail not yet sent or given up (0: none).",
        value=_age(now, oldest),
    )
    logouts = GaugeMetricFamily(
        "portero_logout_deliveries_pending",
        "Back-channel logouts not yet delivered or given up, by status.",
        labels=["status"],
    )
    pending = dict(
        LogoutDelivery.objects.filter(status__in=_WAITING_LOGOUTS)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    for state in _WAITING_LOGOUTS:
        logouts.add_metric([state.value], pending.get(state, 0))
    yield logouts
    unsealed = AuditEvent.objects.filter(seq__isnull=True).aggregate(
        n=Count("id"), oldest=Min("created_at")
    )
    yield GaugeMetricFamily(
        "portero_audit_unsealed_events",
        "Audit rows the worker has not chained yet.",
        value=unsealed["n"],
    )
    yield GaugeMetricFamily(
        "portero_audit_oldest_unsealed_age_seconds",
        "Age of the oldest unchained audit row (0: none).",
        value=_age(now, unsealed["oldest"]),
    )


def _age(now: Any, oldest: Any) -> float:
    return max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0


# --- `portero serve`: multiprocess mode under gunicorn ------------------------------------


def multiprocess_prepare() -> Path:
    """Give this process and the workers it forks a fresh metrics directory; return it."""
    parent = settings.VAR_DIR / "metrics"
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="serve-", dir=parent))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    # prometheus_client chose how to keep values when this app imported it, before the
    # directory existed; choose again before any worker forks and creates one.
    values.ValueClass = values.get_value_class()
    return path


def serve_metrics_start(bind: str, directory: Path) -> dict[str, Any]:
    """Serve the workers' summed metrics and the queue gauges on `bind` from this process
    (gunicorn's master); return the gunicorn hooks that keep the directory right."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    registry.register(QueueCollector())
    host, port = metrics_address(bind)
    start_http_server(port, host, registry=registry)
    return {
        "child_exit": lambda server, worker: multiprocess.mark_process_dead(
            worker.pid, str(directory)
        ),
        "on_exit": lambda server: shutil.rmtree(directory, ignore_errors=True),
    }


# --- `portero worker` ---------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerMetrics:
    heartbeat: Gauge
    items: Counter

    def round_done(self, handled: int) -> None:
        self.heartbeat.set_to_current_time()
        self.items.inc(handled)


class WriteTransactionCollector(Collector):
    """How long this worker's write transactions held the database (portero.core.write_lock)."""

    def collect(self) -> Iterator[Metric]:
        held = write_lock.HELD
        with held.lock:
            cumulative, buckets = 0, []
            for bound, n in zip(write_lock.BUCKETS, held.buckets, strict=True):
                cumulative += n
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            yield HistogramMetricFamily(
                "portero_worker_write_transaction_seconds",
                "Time each write transaction of this worker held the database (on SQLite, "
                "its only write lock), from BEGIN to the end of COMMIT.",
                buckets=buckets,
                sum_value=held.seconds,
            )
            yield GaugeMetricFamily(
                "portero_worker_write_transaction_longest_seconds",
                "The longest write transaction of this worker since it started.",
                value=held.longest,
            )


def worker_metrics_start(bind: str) -> WorkerMetrics:
    """Serve the worker's own metrics on the host of `bind`, port + 1."""
    registry = CollectorRegistry()
    for collector in (
        PROCESS_COLLECTOR,
        PLATFORM_COLLECTOR,
        GC_COLLECTOR,
        WriteTransactionCollector(),
    ):
        registry.register(collector)
    metrics = WorkerMetrics(
        heartbeat=Gauge(
            "portero_worker_heartbeat_timestamp_seconds",
            "Unix time at which this worker last finished a round.",
            registry=registry,
        ),
        items=Counter(
            "portero_worker_items",
            "Items this worker handled (requests, e-mails, logouts, audit rows).",
            registry=registry,
        ),
    )
    host, port = metrics_address(bind)
    start_http_server(port + 1, host, registry=registry)
    return metrics
