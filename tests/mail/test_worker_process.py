"""The worker as it runs in production: its own thread and connection, polling the database."""

from __future__ import annotations

import threading
import time

import pytest
from django.test import Client

from portero.worker import Worker
from tests.helpers import link_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_running_worker_delivers_a_request_within_seconds(user, mailbox, settings):
    settings.PORTERO_WORKER_POLL_SECONDS = 0.1
    stop = threading.Event()
    thread = threading.Thread(target=Worker().run, args=(stop,))
    thread.start()
    try:
        Client().post("/recuperar/contrasena/", {"username": "gongoragabriela"})
        deadline = time.monotonic() + 15
        while not mailbox.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
    assert len(mailbox.messages) == 1
    assert "/restablecer/" in link_in(mailbox.messages[0])


def test_a_failing_seal_does_not_stop_the_mail(user, mailbox, monkeypatch, caplog):
    from django.db import DatabaseError

    from portero import worker as worker_module

    def broken() -> int:
        raise DatabaseError("the audit table is unavailable")

    monkeypatch.setattr(worker_module, "events_seal", broken)
    Client().post("/recuperar/contrasena/", {"username": "gongoragabriela"})
    Worker().drain()
    assert len(mailbox.messages) == 1
    assert "sealing the audit trail failed" in caplog.text


def test_the_database_connection_stays_open_while_there_is_work_and_closes_when_idle(settings):
    settings.PORTERO_WORKER_POLL_SECONDS = 0.05
    stop, seen = threading.Event(), []
    handled = iter([3, 3, 3, 0, 3])

    class Counting(Worker):
        def run_once(self) -> int:
            from django.db import connection

            connection.cursor().execute("SELECT 1")
            seen.append(connection.connection)  # kept: no id reused
            n = next(handled, None)
            if n is None:
                stop.set()
                return 0
            return n

    thread = threading.Thread(target=Counting().run, args=(stop,))
    thread.start()
    thread.join(timeout=15)
    assert not thread.is_alive()
    # Rounds 1-4 on one connection (opening one per round cost more than some rounds'
    # work); the idle fourth closes it, so the fifth opens a new one.
    assert all(c is seen[0] for c in seen[:4])
    assert seen[4] is not seen[0]


def test_a_failed_round_drops_the_connection_so_the_next_opens_a_new_one(settings):
    from django.db import OperationalError

    settings.PORTERO_WORKER_POLL_SECONDS = 0.05
    stop, seen = threading.Event(), []

    class Failing(Worker):
        def run_once(self) -> int:
            from django.db import connection

            connection.cursor().execute("SELECT 1")
            seen.append(connection.connection)  # kept: no id reused
            if len(seen) == 1:
                raise OperationalError("server closed the connection unexpectedly")
            stop.set()
            return 1

    thread = threading.Thread(target=Failing().run, args=(stop,))
    thread.start()
    thread.join(timeout=15)
    assert not thread.is_alive()
    assert len(seen) == 2
    assert seen[1] is not seen[0]
