"""Health endpoints for load balancers and orchestrators (docs/operations.md).

`/salud/vivo` says the process answers and touches nothing; `/salud/listo` says whether this
process can serve: the database answers and has every migration. Redis, when REDIS_URL is set,
is reported, but its loss only degrades (the rate-limit counters fall back to the database).
Neither reads or writes a session (a probe sends no cookie), sets a CSRF
cookie or records an audit event.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from portero.ops import probes

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10


class _Schema:
    # The migration check reads every migration file; once the schema is current it stays so
    # for the life of this process (migrations run before a new release's processes start).
    current = False


def _answer(status: int, body: dict[str, object]) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@csrf_exempt
@require_safe
def alive(request: HttpRequest) -> JsonResponse:
    """Answer 200 while the process answers at all."""
    return _answer(200, {"status": "ok"})


@csrf_exempt
@require_safe
def ready(request: HttpRequest) -> JsonResponse:
    """Answer 200 when every dependency is ready, else 503 naming the ones that are not."""
    checks = readiness()
    failed = [name for name, state in checks.items() if state != "ok" and name != "redis"]
    if failed:
        log.warning("not ready: %s", ", ".join(f"{n}={checks[n]}" for n in failed))
        return _answer(503, {"status": "unavailable", "failed": failed, "checks": checks})
    if checks.get("redis", "ok") != "ok":
        # Still ready: the rate-limit counters fall back to the database (core.ratelimit).
        # Failing here would take every instance out of the load balancer at once.
        log.warning("degraded: redis=%s (rate-limit counters in the database)", checks["redis"])
        return _answer(200, {"status": "degraded", "degraded": ["redis"], "checks": checks})
    return _answer(200, {"status": "ok", "checks": checks})


def readiness() -> dict[str, str]:
    """Return the state of each dependency: "ok", or what is wrong with it."""
    checks = {"database": "unreachable" if probes.database_problem() else "ok"}
    checks["migrations"] = _schema_state() if checks["database"] == "ok" else "unknown"
    if settings.REDIS_URL:
        checks["redis"] = "unreachable" if probes.redis_problem(settings.REDIS_URL) else "ok"
    return checks


def _schema_state() -> str:
    if not _Schema.current:
        try:
            _Schema.current = not probes.migrations_pending()
        except Exception:  # the database went away between the two probes
            return "unknown"
    return "ok" if _Schema.current else "pending"
