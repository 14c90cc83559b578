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
