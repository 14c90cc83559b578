"""Issue 15, defect 5: someone who can write the database cannot rewrite the audit trail unseen.

Each test plays an attacker with write access to every table but neither the key file
(PORTERO_AUDIT_KEY_FILE) nor the checkpoint file. The attacker knows the algorithm: the
`_attacker_digest` below is what anyone can compute without the key.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from portero.accounts.models import User
from portero.audit.models import AuditChain, AuditEvent
from portero.audit.services import events_seal
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _attacker_digest(row: AuditEvent, prev_hash: str) -> str:
    """The chain's digest as anyone can compute it from the code: SHA-256, no key."""
    fields = [
        row.created_at.isoformat(),
        row.event,
        row.outcome,
        row.actor,
        row.user_id,
        row.subject,
        row.ip,
        row.request_id,
        row.details,
    ]
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}|{canonical}".encode()).hexdigest()


def _verify(*args: str) -> str:
    out = io.StringIO()
    call_command("audit", "verify", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def trail(db):  # type: ignore[no-untyped-def]
    User.objects.create_user(
        username="gongoragabriela", email="gabriela@example.com", password=PASSWORD
    )
    for _ in range(3):
        Client().post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
        Client().post("/ingresar/", {"username": "gongoragabriela", "password": "x" * 16})
    assert events_seal() == 6
    return list(AuditEvent.objects.order_by("seq"))


def _rehash_from(rows: list[AuditEvent], start: int) -> None:
    """Recompute every hash from rows[start] on, and the head, as an attacker can."""
    prev = rows[start - 1].row_hash if start else "0" * 64
    with connection.cursor() as cursor:
        for row in rows[start:]:
            row.refresh_from_db()
            row.prev_hash, row.row_hash = prev, _attacker_digest(row, prev)
            cursor.execute(
                "UPDATE audit_auditevent SET prev_hash = %s, row_hash = %s WHERE id = %s",
                [row.prev_hash, row.row_hash, row.pk],
            )
            prev = row.row_hash
    AuditChain.objects.filter(pk=1).update(head_hash=prev)


def test_lg_chain_editing_a_row_and_rehashing_every_later_row_is_detected(trail):
    AuditEvent.objects.filter(pk=trail[1].pk).update(outcome="ok-forged")
    _rehash_from(trail, 1)
    with pytest.raises(CommandError, match=f"row {trail[1].pk}: its contents were changed"):
        _verify()


def test_lg_chain_deleting_the_newest_rows_and_moving_the_head_back_breaks_the_checkpoint(
    trail, tmp_path: Path
):
    checkpoints = tmp_path / "checkpoints.jsonl"
    call_command("audit", "checkpoint", "--file", str(checkpoints), stdout=io.StringIO())
    AuditEvent.objects.filter(seq__gt=4).delete()
    AuditChain.objects.filter(pk=1).update(head_seq=4, head_hash=trail[3].row_hash)
    assert "4 rows verified" in _verify()  # without the outside anchor, truncation looks fine
    with pytest.raises(
        CommandError, match=r"checkpoint of .* names seq 6, .* the newest rows were removed"
    ):
        _verify("--checkpoints", str(checkpoints))


def test_lg_chain_deleting_the_oldest_rows_and_setting_the_purge_anchor_is_detected(trail):
    AuditEvent.objects.filter(seq__lte=2).delete()
    AuditChain.objects.filter(pk=1).update(anchor_seq=2, anchor_hash=trail[1].row_hash)
    with pytest.raises(CommandError, match="purge anchor was not set by Portero"):
        _verify()


def test_lg_chain_a_missing_head_with_sealed_rows_is_a_failure(trail):
    AuditChain.objects.all().delete()
    with pytest.raises(CommandError, match="head row is missing while 6 sealed rows remain"):
        _verify()


def test_lg_chain_a_key_that_is_not_the_servers_cannot_seal_a_rewrite(trail, settings, tmp_path):
    """The key is read from the file, never from the database: a chain rewritten with
    another key (the attacker's own) fails with the server's."""
    from portero.audit.keys import audit_key_file_create

    own = settings.PORTERO_AUDIT_KEY_FILE
    settings.PORTERO_AUDIT_KEY_FILE = tmp_path / "attackers-key"
    audit_key_file_create(settings.PORTERO_AUDIT_KEY_FILE)
    AuditChain.objects.all().delete()
    AuditEvent.objects.update(seq=None, prev_hash="", row_hash="", key_id="")
    assert events_seal() == 6 and "6 rows verified" in _verify()
    settings.PORTERO_AUDIT_KEY_FILE = own
    with pytest.raises(
        CommandError,
        match=f"row {trail[0].pk}: is sealed with audit key "
        f"[0-9a-f]{{16}}, which PORTERO_AUDIT_KEY_FILE does "
        f"not hold",
    ):
        _verify()


def test_lg_chain_a_rewritten_row_that_matches_no_checkpoint_is_named(trail, tmp_path):
    checkpoints = tmp_path / "checkpoints.jsonl"
    checkpoints.write_text(
        json.dumps({"at": "2026-11-30T08:00:00+00:00", "seq": 3, "hash": "e" * 64}) + "\n"
    )
    with pytest.raises(
        CommandError,
        match=f"row {trail[2].pk}: does not match the checkpoint of 2026-11-30T08:00:00",
    ):
        _verify("--checkpoints", str(checkpoints))


def test_lg_chain_verify_reads_checkpoints_from_shipped_log_lines(trail, tmp_path, caplog):
    caplog.set_level("INFO", logger="portero.audit.checkpoint")
    call_command("audit", "checkpoint", "--file", str(tmp_path / "unused"), stdout=io.StringIO())
    log_copy = tmp_path / "portero.log"
    log_copy.write_text(
        "".join(
            f"2026-11-30 08:00:00,000 INFO {r.name} {r.getMessage()}\n"
            for r in caplog.records
            if r.name.endswith("checkpoint")
        )
    )
    out = _verify("--checkpoints", str(log_copy))
    assert "6 rows verified" in out and "1 checkpoint(s) compared" in out and "seq 6" in out
    log_copy.write_text("not a checkpoint\n")
    with pytest.raises(CommandError, match="line 1: not a checkpoint"):
        _verify("--checkpoints", str(log_copy))


def test_lg_chain_the_worker_writes_a_checkpoint_on_schedule_when_the_head_moves(
    trail, worker, settings, clock
):
    from datetime import timedelta

    from portero.audit.checkpoints import checkpoints_read
    from portero.audit.events import EventType
    from portero.audit.services import event_record

    path = settings.PORTERO_AUDIT_CHECKPOINT_FILE
    path.unlink(missing_ok=True)
    worker.run_once()
    assert [c.seq for c in checkpoints_read(path)] == [6]
    event_record(EventType.SIGN_IN_OK)
    worker.run_once()  # sealed, but the next checkpoint is not due yet
    assert [c.seq for c in checkpoints_read(path)] == [6]
    clock.advance(timedelta(minutes=settings.PORTERO_AUDIT_CHECKPOINT_MINUTES))
    worker.run_once()
    worker.run_once()  # the head has not moved since: no new line
    clock.advance(timedelta(minutes=settings.PORTERO_AUDIT_CHECKPOINT_MINUTES))
    worker.run_once()
    assert [c.seq for c in checkpoints_read(path)] == [6, 7]
    assert "7 rows verified" in _verify("--checkpoints", str(path))
