"""`portero worker --processes N`: N real worker processes share the queue, never a message."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from portero.accounts.services import user_create
from portero.core.client import ClientInfo
from portero.mail.models import EmailStatus, OutboundEmail
from portero.ops.management.commands.worker import DEFAULT_PROCESSES
from portero.recovery.flows.password_reset import request_password_reset
from portero.recovery.models import RecoveryRequest
from portero.recovery.services import username_reminder_queue
from tests.conftest import PASSWORD
from tests.e2e.conftest import pipe_output, portero_process
from tests.processes import database_url, free_port

pytestmark = pytest.mark.django_db(transaction=True)

RESETS, REMINDERS = 20, 40


class CountingSink:
    """An SMTP server that takes 20 ms per message and notes who sent which Message-ID."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.message_ids: list[str] = []
        self.connections: set[tuple[str, int]] = set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.02)
        found = re.search(rb"^Message-ID: *(\S+)", envelope.original_content, re.M | re.I)
        with self.lock:
            self.message_ids.append(found[1].decode() if found else "")
            self.connections.add(tuple(session.peer))
        return "250 2.0.0 Accepted"


@pytest.fixture
def sink() -> Iterator[tuple[CountingSink, int]]:
    handler, port = CountingSink(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def _queue_work() -> int:
    for i in range(RESETS):
        user = user_create(
            username=f"proveedor{i:02d}", email=f"p{i}@example.com", password=PASSWORD
        )
        request_password_reset(username=user.username, client=ClientInfo.system())
        username_reminder_queue(user=user, language="es-co")
        username_reminder_queue(user=user, language="en")
    return RESETS + REMINDERS


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_default_is_one_process():
    assert DEFAULT_PROCESSES == 1


def test_three_processes_share_the_queue_and_send_each_message_once(
    tmp_path: Path, sink: tuple[CountingSink, int]
):
    handler, port = sink
    expected = _queue_work()
    env = {
        "PORTERO_ENV": "development",
        "PORTERO_VAR_DIR": str(tmp_path),
        "PORTERO_SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "PORTERO_WORKER_POLL_SECONDS": "0.1",
        "PORTERO_WORKER_NICE": "0",
    }
    with portero_process("worker", "--processes", "3", env=env) as parent:
        deadline = time.monotonic() + 60
        while len(handler.message_ids) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # anything sent twice would arrive now
        os.kill(parent.pid, signal.SIGTERM)
        parent.wait(timeout=20)
    output = pipe_output(parent)()
    assert parent.returncode == 0, output
    started = re.search(r"started 3 worker processes: ([\d, ]+)", output)
    assert started, output
    children = [int(p) for p in started[1].split(", ")]
    assert len(children) == 3 and not any(_alive(pid) for pid in children)
    assert output.count("worker stopped") == 3 and "Traceback" not in output
    # Every message once, under its own Message-ID, on its first attempt.
    assert len(handler.message_ids) == expected, output
    assert len(set(handler.message_ids)) == expected
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {(EmailStatus.SENT, 1)}
    assert not RecoveryRequest.objects.filter(processed_at__isnull=True).exists()
    assert len(handler.connections) >= 2  # more than one process did the sending
