"""The audit trail is tamper-evident, exportable and purged without breaking its proof."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from portero.accounts.models import User
from portero.audit.models import AuditEvent
from portero.audit.services import events_seal
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(db):  # type: ignore[no-untyped-def]
    """The account without user_create's "account.created" row: these tests count rows."""
    return User.objects.create_user(
        username="gongoragabriela", email="gabriela@example.com", password=PASSWORD
    )


def _verify() -> str:
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    return out.getvalue()


@pytest.fixture
def trail(user):  # type: ignore[no-untyped-def]
    for _ in range(3):
        Client().post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
        Client().post("/ingresar/", {"username": "gongoragabriela", "password": "x" * 16})
    assert events_seal() == 6
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    return events


def test_chain_verifies_when_untouched(trail):
    assert "6 rows verified" in _verify()


def test_editing_one_row_in_the_database_is_detected_and_named(trail):
    victim = trail[2]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET outcome = %s WHERE id = %s", ["ok-forged", victim.pk]
        )
    with pytest.raises(CommandError, match=f"row {victim.pk}: its contents were changed"):
        _verify()


def test_removing_a_row_is_detected_at_the_next_one(trail):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [trail[3].pk])
    with pytest.raises(CommandError, match=f"row {trail[4].pk}: does not follow"):
        _verify()


def test_removing_the_newest_rows_is_detected(trail):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [trail[-1].pk])
    with pytest.raises(CommandError, match="newest rows were removed"):
        _verify()


def test_recomputing_a_forged_row_hash_still_breaks_the_next_link(trail):
    from portero.audit.chain import row_digest

    victim = trail[1]
    victim.outcome = "forged"
    forged_hash = row_digest(victim, victim.prev_hash)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET outcome = %s, row_hash = %s WHERE id = %s",
            ["forged", forged_hash, victim.pk],
        )
    with pytest.raises(CommandError, match=f"row {trail[2].pk}"):
        _verify()


def test_lg4_purge_keeps_the_chain_verifiable(user, clock, settings):
    settings.PORTERO_AUDIT_RETENTION_DAYS = 30
    Client().post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    Client().post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    clock.advance(timedelta(days=40))
    Client().post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    out = io.StringIO()  # purging seals what the worker has not sealed yet
    call_command("audit", "purge", stdout=out)
    assert "deleted 2 event(s)" in out.getvalue()
    assert "1 rows verified" in _verify()


def test_export_as_json_lines_and_csv(trail, clock):
    out, err = io.StringIO(), io.StringIO()
    call_command("audit", "export", "--since", "2000-01-01", stdout=out, stderr=err)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["sign_in.ok", "sign_in.failed"] * 3
    assert all(line["created_at"].endswith("+00:00") for line in lines)
    assert "exported 6 event(s)" in err.getvalue()

    out = io.StringIO()
    call_command(
        "audit",
        "export",
        "--since",
        "2000-01-01",
        "--format",
        "csv",
        stdout=out,
        stderr=io.StringIO(),
    )
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 6 and rows[0]["row_hash"] == trail[0].row_hash
    assert [row["seq"] for row in rows] == ["1", "2", "3", "4", "5", "6"]
    assert all(
        later["prev_hash"] == earlier["row_hash"] for earlier, later in itertools.pairwise(rows)
    )

    future = (clock.now() + timedelta(days=1)).date().isoformat()
    out = io.StringIO()
    call_command("audit", "export", "--since", future, stdout=out, stderr=io.StringIO())
    assert out.getvalue() == ""


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "needs --since"),
        (["--since", "ayer"], "must be a date"),
        (["--since", "2026-13-45"], "must be a date"),
        (["--since", "2026-11-02", "--until", "2026-11-01"], "later than"),
    ],
)
def test_export_refuses_malformed_ranges_clearly(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("audit", "export", *args, stdout=io.StringIO(), stderr=io.StringIO())


def test_events_appended_in_a_batch_are_written_once_at_its_end(user):
    from django.db import transaction

    from portero.audit.chain import appends_batched
    from portero.audit.events import EventType
    from portero.audit.services import event_record

    with transaction.atomic(), appends_batched():
        for _ in range(3):
            event_record(EventType.SIGN_IN_OK, user=user)
        assert not AuditEvent.objects.exists()  # held until the block ends
    assert AuditEvent.objects.count() == 3
    events_seal()
    assert "3 rows verified" in _verify()


def test_a_batch_that_fails_writes_nothing(user):
    from django.db import transaction

    from portero.audit.chain import appends_batched
    from portero.audit.events import EventType
    from portero.audit.services import event_record

    with pytest.raises(RuntimeError), transaction.atomic(), appends_batched():
        event_record(EventType.SIGN_IN_OK, user=user)
        raise RuntimeError("the change it reports failed")
    event_record(EventType.SIGN_IN_OK, user=user)
    assert AuditEvent.objects.count() == 1
    events_seal()
    assert "1 rows verified" in _verify()


def test_rows_are_written_unsealed_and_verify_says_how_many_wait(user):
    from portero.audit.events import EventType
    from portero.audit.services import event_record

    event_record(EventType.SIGN_IN_OK, user=user)
    events_seal()
    event_record(EventType.SIGN_IN_OK, user=user)
    event_record(EventType.SIGN_IN_OK, user=user)
    assert AuditEvent.objects.filter(seq__isnull=True, row_hash="").count() == 2
    out = _verify()
    assert "1 rows verified" in out and "2 newer row(s) not sealed yet" in out
    assert events_seal() == 2
    assert "3 rows verified" in _verify() and "not sealed" not in _verify()


def test_a_row_that_became_visible_late_takes_the_next_place_in_the_chain(user):
    """Seq, not id, orders the chain: a transaction that commits after a later row was sealed
    (its id is lower) is sealed after it, and the chain still verifies."""
    from portero.audit.events import EventType
    from portero.audit.services import event_record

    late = event_record(EventType.SIGN_IN_OK, user=user)
    AuditEvent.objects.filter(pk=late.pk).update(seq=-1)  # not visible to the sealer yet
    early = event_record(EventType.SIGN_IN_FAILED, user=user)
    assert events_seal() == 1
    AuditEvent.objects.filter(pk=late.pk).update(seq=None)  # "commits" now
    assert events_seal() == 1
    order = list(AuditEvent.objects.order_by("seq").values_list("pk", flat=True))
    assert late.pk < early.pk and order == [early.pk, late.pk]
    assert "2 rows verified" in _verify()


def test_sealing_in_pieces_chains_every_row_once(user):
    from portero.audit.chain import chain_seal
    from portero.audit.events import EventType
    from portero.audit.services import event_record

    for _ in range(5):
        event_record(EventType.SIGN_IN_OK, user=user)
    assert chain_seal(limit=2) == 2 and chain_seal(limit=2) == 2 and chain_seal() == 1
    assert chain_seal() == 0
    assert sorted(AuditEvent.objects.values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    assert "5 rows verified" in _verify()


def test_the_workers_batches_are_chained_as_they_are_written(user):
    from django.db import transaction

    from portero.audit.chain import appends_batched
    from portero.audit.events import EventType
    from portero.audit.services import event_record

    event_record(EventType.SIGN_IN_OK, user=user)  # a web request's row, waiting
    with transaction.atomic(), appends_batched(sealed=True):
        for _ in range(3):
            event_record(EventType.MAIL_SENT, user=user)
    assert list(AuditEvent.objects.order_by("pk").values_list("seq", flat=True)) == [None, 1, 2, 3]
    assert "3 rows verified" in _verify()
    assert events_seal() == 1
    assert "4 rows verified" in _verify()


def test_a_row_placed_after_the_head_is_detected(trail):
    stray = AuditEvent.objects.create(
        event="sign_in.ok", outcome="ok", seq=99, prev_hash=trail[-1].row_hash, row_hash="f" * 64
    )
    with pytest.raises(CommandError, match=f"row {stray.pk}: is placed after the chain's head"):
        _verify()


def test_a_lost_head_row_stops_sealing_and_keeps_every_row(trail, caplog, mailbox):
    """Issue 15: the head is not made again over sealed rows (that would hide the deletion):
    the worker says so, and new rows, its own batches included, wait unsealed."""
    from django.db import transaction

    from portero.audit.chain import appends_batched
    from portero.audit.events import EventType
    from portero.audit.models import AuditChain
    from portero.audit.services import event_record
    from portero.worker import Worker

    AuditChain.objects.all().delete()
    event_record(EventType.SIGN_IN_OK)
    with transaction.atomic(), appends_batched(sealed=True):
        event_record(EventType.MAIL_SENT)
    Worker().run_once()
    assert "head row is missing while sealed rows remain" in caplog.text
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 2
    with pytest.raises(CommandError, match="head row is missing while 6 sealed rows remain"):
        _verify()


def test_an_emptied_trail_starts_a_new_chain(user):
    from portero.audit.events import EventType
    from portero.audit.models import AuditChain
    from portero.audit.services import event_record

    AuditChain.objects.all().delete()
    event_record(EventType.SIGN_IN_OK)
    assert events_seal() == 1
    assert "1 rows verified" in _verify()
