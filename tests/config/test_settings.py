"""Start-up refuses configurations that cannot be safe, with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portero.config.env import Env, parse_email_url

GOOD = {
    "PORTERO_ENV": "production",
    "PORTERO_SECRET_KEY": "k" * 50,
    "PORTERO_BASE_URL": "https://cuentas.example.gov.co",
    "EMAIL_URL": "smtp+starttls://user:p%40ss@smtp.example.gov.co:587",
    "DATABASE_URL": "sqlite:///:memory:",
}


def _env(**overrides: str) -> dict[str, str]:
    """Return this environment with production settings plus `overrides`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTERO_", "EMAIL_URL", "DATABASE_URL"))
    }
    env.update(GOOD)
    env["PORTERO_AUDIT_KEY_FILE"] = str(settings.PORTERO_AUDIT_KEY_FILE)
    env.update(overrides)
    env["DJANGO_SETTINGS_MODULE"] = "portero.config.settings"
    return env


def _run(
    args: list[str], *, prefix: tuple[str, ...] = (), **overrides: str
) -> subprocess.CompletedProcess[str]:
    """Run Python in a fresh process (after `prefix`, e.g. taskset) with `_env(overrides)`."""
    return subprocess.run(
        [*prefix, sys.executable, *args],
        env=_env(**overrides),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _start(**overrides: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.ALLOWED_HOSTS)"
    )
    return _run(["-c", code], prefix=(), **overrides)


def test_production_with_complete_settings_starts():
    result = _start()
    assert result.returncode == 0, result.stderr
    assert "cuentas.example.gov.co" in result.stdout and "localhost" not in result.stdout


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"PORTERO_SECRET_KEY": ""}, "PORTERO_SECRET_KEY"),
        ({"PORTERO_SECRET_KEY": "changeme"}, "PORTERO_SECRET_KEY"),
        ({"PORTERO_BASE_URL": ""}, "PORTERO_BASE_URL"),
        ({"PORTERO_BASE_URL": "http://cuentas.example.gov.co"}, "https"),
        ({"PORTERO_BASE_URL": "https://x.gov.co/path"}, "PORTERO_BASE_URL"),
        ({"EMAIL_URL": "ftp://x"}, "EMAIL_URL"),
        ({"EMAIL_URL": "smtp://smtp.example.gov.co?timeout=abc"}, "EMAIL_URL timeout"),
        ({"EMAIL_URL": "smtp://smtp.example.gov.co?timeout=0"}, "EMAIL_URL timeout"),
        ({"PORTERO_RESET_TTL_MINUTES": "2000"}, "PORTERO_RESET_TTL_MINUTES"),
        ({"PORTERO_PASSWORD_MIN_LENGTH": "6"}, "PORTERO_PASSWORD_MIN_LENGTH"),
        ({"PORTERO_ARGON2_MEMORY_KIB": "1024"}, "PORTERO_ARGON2_MEMORY_KIB"),
        ({"PORTERO_ENV": "staging"}, "PORTERO_ENV"),
        ({"PORTERO_RATE_LIMITS": "maybe"}, "PORTERO_RATE_LIMITS"),
    ],
)
def test_unsafe_production_settings_stop_start_up(overrides, message):
    result = _start(**overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_li5_no_account_exists_after_a_production_install(tmp_path):
    """LI5: migrating a production database creates no account; demo users exist only in demo."""
    database = f"sqlite:///{tmp_path / 'prod.sqlite3'}"
    migrated = _run(["-m", "portero.cli", "migrate", "--no-input"], DATABASE_URL=database)
    assert migrated.returncode == 0, migrated.stderr
    counted = _run(
        [
            "-c",
            "import django; django.setup(); "
            "from portero.accounts.models import User; print(User.objects.count())",
        ],
        DATABASE_URL=database,
    )
    assert counted.stdout.strip() == "0", counted.stderr


@pytest.mark.parametrize(
    "url,host,port,tls,ssl",
    [
        ("smtp://mail.local", "mail.local", 25, False, False),
        ("smtp+starttls://u:p@mail.local:2525", "mail.local", 2525, True, False),
        ("smtp+ssl://mail.local", "mail.local", 465, False, True),
    ],
)
def test_email_url_forms(url, host, port, tls, ssl):
    parsed = parse_email_url(url)
    assert (parsed["EMAIL_HOST"], parsed["EMAIL_PORT"]) == (host, port)
    assert (parsed["EMAIL_USE_TLS"], parsed["EMAIL_USE_SSL"]) == (tls, ssl)


def test_email_url_password_is_unquoted():
    assert parse_email_url("smtp://u:p%40ss@h")["EMAIL_HOST_PASSWORD"] == "p@ss"


def test_env_rejects_garbage_numbers():
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        Env({"N": "12abc"}).int("N", 1, low=0, high=100)


def test_web_workers_default_to_the_usable_cores_within_bounds():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.PORTERO_WEB_WORKERS)"
    )
    cores = len(os.sched_getaffinity(0))
    assert _run(["-c", code]).stdout.strip() == str(min(max(cores, 2), 8))
    # Pinned to one core it still runs two: one slow request must not hold up every other.
    pinned = _run(["-c", code], prefix=("taskset", "-c", "0"))
    assert pinned.stdout.strip() == "2", pinned.stderr
    assert _run(["-c", code], PORTERO_WEB_WORKERS="5").stdout.strip() == "5"
