"""Checks that reach out to the services Portero depends on (docs/operations.md).

They are deployment checks tagged `portero`, so a plain `portero check`, `migrate` or `serve`
start-up never waits on the network; run them with `portero check --deploy --tag portero`.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from portero.ops import probes

TAG = "portero"


@register(TAG, deploy=True)
def check_database(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The database answers and has every migration."""
    problem = probes.database_problem()
    if problem:
        return [
            Error(
                f"The database {_database_name()} cannot be reached ({problem}).",
                hint="Check DATABASE_URL and that the database server is running.",
                id="portero.E101",
            )
        ]
    if probes.migrations_pending():
        return [
            Error(
                f"The database {_database_name()} has unapplied migrations.",
                hint="Run `portero migrate` with this DATABASE_URL.",
                id="portero.E102",
            )
        ]
    return []


@register(TAG, deploy=True)
def check_smtp(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The SMTP server of EMAIL_URL accepts a connection and answers EHLO."""
    host, port = settings.EMAIL_HOST, settings.EMAIL_PORT
    problem = probes.smtp_problem(host=host, port=port, use_ssl=settings.EMAIL_USE_SSL)
    if problem:
        return [
            Error(
                f"The SMTP server {host}:{port} cannot be reached ({problem}).",
                hint="Check EMAIL_URL (host, port, smtp+ssl:// or smtp+starttls://).",
                id="portero.E103",
            )
        ]
    return []


@register(TAG, deploy=True)
def check_signing_key_file(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The ID-token key file exists in production and only its owner can read it."""
    path = settings.PORTERO_OIDC_KEYS_FILE
    if not path.exists():
        if not settings.PRODUCTION:
            return []  # demo and development create it on first use
        return [
            Error(
                f"The ID-token signing key file {path} does not exist.",
                hint="Run `portero keys rotate`, or point PORTERO_OIDC_KEYS_FILE at it.",
                id="portero.E104",
            )
        ]
    if path.stat().st_mode & 0o077:
        return [
            Error(
                f"The ID-token signing key file {path} can be read by other users.",
                hint=f"Run `chmod 600 {path}` (PORTERO_OIDC_KEYS_FILE).",
                id="portero.E105",
            )
        ]
    return []


@register(TAG, deploy=True)
def check_audit_files(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The audit key file only its owner can read; the checkpoint file can be appended to."""
    problems: list[CheckMessage] = []
    key = settings.PORTERO_AUDIT_KEY_FILE
    if key.exists() and key.stat().st_mode & 0o077:
        problems.append(
            Error(
                f"The audit key file {key} can be read by other users.",
                hint=f"Run `chmod 600 {key}` (PORTERO_AUDIT_KEY_FILE).",
                id="portero.E107",
            )
        )
    checkpoints = settings.PORTERO_AUDIT_CHECKPOINT_FILE
    target = checkpoints if checkpoints.exists() else checkpoints.parent
    if not os.access(target, os.W_OK):
        problems.append(
            Error(
                f"The audit checkpoint file {checkpoints} cannot be written.",
                hint="Let the worker's user append to it, or point "
                "PORTERO_AUDIT_CHECKPOINT_FILE elsewhere.",
                id="portero.E108",
            )
        )
    return problems


@register(TAG, deploy=True)
def check_redis(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Redis answers when REDIS_URL is set."""
    if not settings.REDIS_URL:
        return []
    problem = probes.redis_problem(settings.REDIS_URL)
    if problem:
        return [
            Error(
                f"Redis cannot be reached ({problem}).",
                hint="Check REDIS_URL and that the Redis server is running, or unset "
                "REDIS_URL to keep rate-limit counters in the database.",
                id="portero.E106",
            )
        ]
    return []


def _database_name() -> str:
    """Name the database without its password."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return str(db["NAME"])
    return f"{db.get('NAME')} on {db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"
