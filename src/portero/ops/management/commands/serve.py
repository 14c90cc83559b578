"""`portero serve`: the production web server (gunicorn, sync workers)."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management.base import BaseCommand
from gunicorn.app.base import BaseApplication
from gunicorn.config import KNOWN_SETTINGS

from portero.core.wsgi import PorteroWSGIHandler
from portero.ops import metrics
from portero.ops.startup import startup_objects_freeze

KNOWN = {setting.name for setting in KNOWN_SETTINGS}


class PorteroServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIHandler:
        return PorteroWSGIHandler()  # Django is set up: this runs inside a management command


class Command(BaseCommand):
    help = "Serve Portero with gunicorn on PORTERO_BIND (put a TLS proxy in front)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=settings.PORTERO_BIND)
        parser.add_argument("--workers", type=int, default=settings.PORTERO_WEB_WORKERS)

    def handle(self, *args: Any, bind: str, workers: int, **options: Any) -> None:
        self.stdout.write(
            f"Portero on http://{bind}/ ({workers} workers), public URL {settings.PORTERO_BASE_URL}"
        )
        options = server_options(bind=bind, workers=workers)
        if settings.PORTERO_METRICS_BIND:
            # Before gunicorn forks: the workers inherit the directory they write metrics to.
            directory = metrics.multiprocess_prepare()
            options |= metrics.serve_metrics_start(settings.PORTERO_METRICS_BIND, directory)
            self.stdout.write(f"Metrics on http://{settings.PORTERO_METRICS_BIND}/metrics")
        PorteroServer(options).run()


def server_options(*, bind: str, workers: int) -> dict[str, Any]:
    """Return gunicorn's settings for `portero serve`."""
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": "sync",
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": "-",
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms',  # no query strings
        "logger_class": "portero.ops.gunicorn_logging.RedactingLogger",
        "proc_name": "portero",
        # gunicorn 25+ opens a control socket at one path per user by default; several
        # servers on one machine (instances, tests, the demo portal) would share it.
        **({"control_socket_disable": True} if "control_socket_disable" in KNOWN else {}),
        # Whose X-Forwarded-Proto makes a request https (HSTS, the CSRF Referer check):
        # the same proxies whose X-Forwarded-For is believed (LI3), else a local one.
        "forwarded_allow_ips": ",".join(
            str(ipaddress.ip_network(proxy, strict=False))  # gunicorn parses strictly
            for proxy in settings.PORTERO_TRUSTED_PROXIES
        )
        or "127.0.0.1,::1",
        # gunicorn's own page (raw English) answers request lines longer than this; up to it,
        # Portero answers a too long address with its own page (core.errors.LongUrlMiddleware).
        "limit_request_line": 8190,
        # Each worker, once it has loaded the site: no full collection walks what it loaded.
        "post_worker_init": _worker_ready,
    }


def _worker_ready(worker: Any) -> None:
    startup_objects_freeze()
