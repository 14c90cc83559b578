"""The audit key: where it lives, how it rotates, and the upgrade from the unkeyed chain."""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from portero.audit.events import EventType
from portero.audit.keys import audit_key_file_create, audit_keys_read
from portero.audit.models import AuditChain, AuditEvent
from portero.audit.services import event_record, events_seal

pytestmark = pytest.mark.django_db


def _verify(*args: str) -> str:
    out = io.StringIO()
    call_command("audit", "verify", *args, stdout=out)
    return out.getvalue()


def _record(count: int) -> None:
    for _ in range(count):
        event_record(EventType.SIGN_IN_OK)


@pytest.fixture
def key_file(settings, tmp_path: Path) -> Path:
    settings.PORTERO_AUDIT_KEY_FILE = tmp_path / "audit-key"
    audit_key_file_create(settings.PORTERO_AUDIT_KEY_FILE)
    return settings.PORTERO_AUDIT_KEY_FILE


def test_development_creates_a_key_of_64_hex_characters_only_its_owner_reads(settings):
    path = settings.PORTERO_AUDIT_KEY_FILE
    assert len(path.read_text().strip()) == 64 and int(path.read_text(), 16) >= 0
    assert path.stat().st_mode & 0o077 == 0


def test_rotation_keeps_every_row_verifiable_and_an_old_key_is_needed_until_purged(key_file):
    _record(2)
    events_seal()
    out = io.StringIO()
    call_command("audit", "rotate-key", stdout=out)
    new_id = out.getvalue().split()[3]
    assert audit_keys_read(key_file).current_id == new_id
    assert len(audit_keys_read(key_file).by_id) == 2 and key_file.stat().st_mode & 0o077 == 0
    _record(2)
    events_seal()  # the worker reads the rotated file without a restart
    rotated = AuditEvent.objects.get(event=EventType.AUDIT_KEY_ROTATED)
    assert rotated.key_id == new_id and rotated.subject == f"key:{new_id}"
    verified = _verify()
    assert "5 rows verified" in verified and f"3 row(s) sealed with audit key {new_id}" in verified
    old_line = key_file.read_text().splitlines()[1]
    key_file.write_text(key_file.read_text().replace(old_line + "\n", ""))
    with pytest.raises(CommandError, match=r"is sealed with audit key .*add the older key back"):
        _verify()


def test_a_malformed_key_file_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "audit-key"
    path.write_text("# the audit key\n" + "a" * 64 + "\nnot-a-key\n")
    with pytest.raises(ImproperlyConfigured, match="line 3 is not 64 hexadecimal characters"):
        audit_keys_read(path)
    path.write_text("# empty\n")
    with pytest.raises(ImproperlyConfigured, match="holds no key"):
        audit_keys_read(path)
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        audit_keys_read(tmp_path / "missing")


def _production(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTERO_", "EMAIL_URL", "DATABASE_URL"))
    }
    env.update(
        {
            "PORTERO_ENV": "production",
            "PORTERO_SECRET_KEY": "k" * 50,
            "PORTERO_BASE_URL": "https://cuentas.example.gov.co",
            "EMAIL_URL": "smtp+starttls://smtp.example.gov.co:587",
            "DATABASE_URL": "sqlite:///:memory:",
            "DJANGO_SETTINGS_MODULE": "portero.config.settings",
            **overrides,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "portero.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_requires_the_audit_key_file_with_a_clear_message(tmp_path):
    missing = _production()
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert (
        "portero: configuration error: PORTERO_AUDIT_KEY_FILE is required in production"
        in missing.stderr
    ) and "secrets.token_hex(32)" in missing.stderr
    absent = _production(PORTERO_AUDIT_KEY_FILE=str(tmp_path / "nowhere"))
    assert absent.returncode == 1 and "cannot be read" in absent.stderr
    assert not (tmp_path / "nowhere").exists()  # production never makes one up
    key = tmp_path / "audit-key"
    key.write_text(hashlib.sha256(b"x").hexdigest() + "\n")
    key.chmod(0o600)
    good = _production(PORTERO_AUDIT_KEY_FILE=str(key))
    assert good.returncode == 0, good.stderr


# --- The upgrade from the unkeyed chain (migration 0004) ---------------------------------


def _legacy_seal(count: int) -> None:
    """Seal rows as Portero did before the chain was keyed: plain SHA-256, no key id."""
    head, _ = AuditChain.objects.get_or_create(pk=1)
    prev = head.head_hash or "0" * 64
    for event in AuditEvent.objects.filter(seq__isnull=True).order_by("pk")[:count]:
        fields = [
            event.created_at.isoformat(),
            event.event,
            event.outcome,
            event.actor,
            event.user_id,
            event.subject,
            event.ip,
            event.request_id,
            event.details,
        ]
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
        head.head_seq += 1
        event.seq, event.prev_hash = head.head_seq, prev
        event.row_hash = prev = hashlib.sha256(f"{prev}|{canonical}".encode()).hexdigest()
        event.save()
    head.head_hash = prev
    head.save()


def _migrate_to_keyed() -> None:
    migration = importlib.import_module("portero.audit.migrations.0004_keyed_chain")
    migration.mark_epoch(apps, None)


def test_upgrade_keeps_the_unkeyed_rows_verifiable_and_keys_every_later_row(db):
    _record(3)
    _legacy_seal(3)
    with pytest.raises(CommandError, match="is not sealed with the audit key"):
        _verify()  # unkeyed rows with no epoch recorded: refused
    _migrate_to_keyed()
    _record(2)
    events_seal()
    out = _verify()
    assert "5 rows verified" in out and "3 row(s) sealed with plain SHA-256" in out
    assert "2 row(s) sealed with audit key" in out


def test_after_the_upgrade_no_row_can_be_passed_off_as_unkeyed(db):
    _record(2)
    _legacy_seal(2)
    _migrate_to_keyed()
    _record(2)
    _legacy_seal(2)  # sealed the old way after the upgrade (an old worker, or an attacker)
    with pytest.raises(CommandError, match="is not sealed with the audit key"):
        _verify()


def test_the_upgrade_boundary_cannot_be_moved(db):
    _record(3)
    _legacy_seal(2)
    _migrate_to_keyed()
    head = AuditChain.objects.get(pk=1)
    _legacy_seal(1)  # a forged unkeyed row, and the boundary moved to cover it
    AuditChain.objects.filter(pk=1).update(
        legacy_seq=3, legacy_hash=AuditChain.objects.get(pk=1).head_hash
    )
    with pytest.raises(CommandError, match="sealed before the chain was keyed does not match"):
        _verify()
    AuditChain.objects.filter(pk=1).update(legacy_seq=head.legacy_seq, legacy_hash=head.legacy_hash)
    with pytest.raises(CommandError, match="is not sealed with the audit key"):
        _verify()


def test_the_upgrade_tags_an_earlier_purge_anchor(db):
    _record(4)
    _legacy_seal(4)
    AuditEvent.objects.filter(seq__lte=2).delete()  # an earlier `portero audit purge`
    first_left = AuditEvent.objects.get(seq=3)
    AuditChain.objects.filter(pk=1).update(anchor_seq=2, anchor_hash=first_left.prev_hash)
    _migrate_to_keyed()
    assert "2 rows verified" in _verify()
