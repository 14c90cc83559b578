"""`portero check --deploy --tag portero`: the services Portero depends on, reached for real."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.checks import registry
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from portero.ops import checks
from tests.conftest import SMTPSink
from tests.processes import child_env, free_port


def _portero_checks() -> list[str]:
    found = registry.run_checks(tags=[checks.TAG], include_deployment_checks=True)
    return [f"{m.id} {m.msg} {m.hint}" for m in found]


@pytest.fixture
def keys_file(tmp_path: Path, settings: Any) -> Path:
    path = tmp_path / "oidc-keys.json"
    path.write_text("{}")
    path.chmod(0o600)
    settings.PORTERO_OIDC_KEYS_FILE = path
    return path


@pytest.mark.django_db
def test_all_is_well_when_every_service_answers(mailbox: SMTPSink, keys_file: Path):
    assert _portero_checks() == []
    call_command("check", "--deploy", "--tag", "portero")  # the documented command passes
    assert not mailbox.messages  # EHLO and QUIT only


def test_they_never_run_on_a_plain_start():
    plain = registry.registry.get_checks(include_deployment_checks=False)
    ours = {
        checks.check_database,
        checks.check_smtp,
        checks.check_signing_key_file,
        checks.check_redis,
        checks.check_audit_files,
    }
    assert not ours & set(plain)


@pytest.mark.django_db
def test_an_unreachable_smtp_server_names_email_url(
    mailbox: SMTPSink, keys_file: Path, settings: Any
):
    settings.EMAIL_PORT = free_port()
    (problem,) = _portero_checks()
    assert problem.startswith("portero.E103") and "EMAIL_URL" in problem
    with pytest.raises(SystemCheckError, match=r"portero\.E103"):
        call_command("check", "--deploy", "--tag", "portero")


@pytest.mark.django_db
def test_a_key_file_others_can_read(mailbox: SMTPSink, keys_file: Path):
    keys_file.chmod(0o644)
    (problem,) = _portero_checks()
    assert problem.startswith("portero.E105") and "PORTERO_OIDC_KEYS_FILE" in problem


@pytest.mark.django_db
def test_a_missing_key_file_in_production(mailbox: SMTPSink, tmp_path: Path, settings: Any):
    settings.PORTERO_OIDC_KEYS_FILE = tmp_path / "missing.json"
    assert _portero_checks() == []  # development creates it on first use
    settings.PRODUCTION = True
    (problem,) = _portero_checks()
    assert problem.startswith("portero.E104") and "PORTERO_OIDC_KEYS_FILE" in problem


@pytest.mark.django_db
def test_an_audit_key_others_can_read_and_a_checkpoint_file_nobody_can_write(
    mailbox: SMTPSink, keys_file: Path, settings: Any, tmp_path: Path
):
    key = tmp_path / "audit-key"
    key.write_text(settings.PORTERO_AUDIT_KEY_FILE.read_text())
    key.chmod(0o640)
    settings.PORTERO_AUDIT_KEY_FILE = key
    settings.PORTERO_AUDIT_CHECKPOINT_FILE = tmp_path / "no-such-dir" / "checkpoints.jsonl"
    problems = _portero_checks()
    assert [p.split()[0] for p in problems] == ["portero.E107", "portero.E108"]
    assert "chmod 600" in problems[0] and "PORTERO_AUDIT_CHECKPOINT_FILE" in problems[1]


@pytest.mark.django_db
def test_an_unreachable_redis(mailbox: SMTPSink, keys_file: Path, settings: Any):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    (problem,) = _portero_checks()
    assert problem.startswith("portero.E106") and "REDIS_URL" in problem


def _check_in_child(tmp_path: Path, database_url: str) -> tuple[int, str]:
    env = child_env(
        {
            "PORTERO_ENV": "development",
            "PORTERO_VAR_DIR": str(tmp_path),
            "PORTERO_SECRET_KEY": settings.SECRET_KEY,
            "DATABASE_URL": database_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{free_port()}",
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "portero.cli", "check", "--deploy", "--tag", "portero"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def test_an_unreachable_database_names_database_url(tmp_path: Path):
    code, output = _check_in_child(tmp_path, f"postgres://x:secreto@127.0.0.1:{free_port()}/x")
    assert code == 1 and "portero.E101" in output and "DATABASE_URL" in output
    assert "portero.E103" in output  # every problem is listed at once
    assert "secreto" not in output and "Traceback" not in output


def test_unapplied_migrations(tmp_path: Path):
    code, output = _check_in_child(tmp_path, f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert code == 1 and "portero.E102" in output and "portero migrate" in output
