"""The worker as it runs in production: its own thread and connection, polling the database."""

from __future__ import annotations

import threading
import time

import pytest
from django.test import Client

from portero.mail.models import OutboundEmail
from portero.recovery.models import RecoveryRequest
from portero.worker import Worker, run_stages
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


def test_the_command_runs_requests_and_delivery_in_two_loops(user, mailbox, settings):
    settings.PORTERO_WORKER_POLL_SECONDS = 0.1
    stop = threading.Event()
    thread = threading.Thread(target=run_stages, args=(stop,))
    thread.start()
    try:
        for _ in range(3):
            Client().post("/recuperar/contrasena/", {"username": "gongoragabriela"})
        deadline = time.monotonic() + 15
        while len(mailbox.messages) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
    assert len(mailbox.messages) == 3


def test_each_loop_does_only_its_stage(user, mailbox):
    Client().post("/recuperar/contrasena/", {"username": "gongoragabriela"})
    delivery, requests = Worker(("delivery",)), Worker(("requests",))
    assert delivery.run_once() == 0  # nothing to send yet: the request is not processed
    assert RecoveryRequest.objects.filter(processed_at__isnull=True).exists()
    assert requests.run_once() >= 1
    assert OutboundEmail.objects.filter(status="queued").count() == 1 and not mailbox.messages
    assert requests.run_once() == 0  # sending is not its job
    assert delivery.run_once() == 1 and len(mailbox.messages) == 1
