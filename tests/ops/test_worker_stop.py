"""`portero worker` stops on SIGTERM or SIGINT after the message in flight, and exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from portero.accounts.models import User
from portero.mail.models import EmailStatus, OutboundEmail
from portero.recovery.services import username_reminder_queue
from tests.e2e.conftest import pipe_output, portero_process
from tests.processes import database_url, free_port


class SlowSink:
    """An SMTP server that takes 2 s to accept each message."""

    def __init__(self) -> None:
        self.receiving = threading.Event()
        self.accepted = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.receiving.set()
        await asyncio.sleep(2)
        self.accepted += 1
        return "250 2.0.0 Queued slowly"


@pytest.fixture
def slow_smtp() -> Iterator[tuple[SlowSink, int]]:
    sink, port = SlowSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.django_db(transaction=True)
def test_stop_during_a_send_finishes_that_message_and_exits_0(
    tmp_path: Path, user: User, slow_smtp: tuple[SlowSink, int], sig: signal.Signals
):
    sink, port = slow_smtp
    first, second = (username_reminder_queue(user=user, language="es-co") for _ in range(2))
    env = {
        "PORTERO_ENV": "development",
        "PORTERO_VAR_DIR": str(tmp_path),
        "PORTERO_SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "PORTERO_WORKER_POLL_SECONDS": "0.2",
        "PORTERO_WORKER_NICE": "0",
    }
    with portero_process("worker", env=env) as worker:
        assert sink.receiving.wait(30), pipe_output(worker)()
        os.kill(worker.pid, sig)
        stopped = time.monotonic()
        worker.wait(timeout=10)
        took = time.monotonic() - stopped
    output = pipe_output(worker)()
    assert worker.returncode == 0, output
    assert took < 4 and "Traceback" not in output and "worker stopped" in output
    assert sink.accepted == 1  # the second message was not begun
    statuses = {e.pk: e for e in OutboundEmail.objects.all()}
    sent = [e for e in statuses.values() if e.status == EmailStatus.SENT]
    assert len(sent) == 1 and sent[0].attempts == 1 and sent[0].smtp_reply.startswith("250")
    other = statuses[({first.pk, second.pk} - {sent[0].pk}).pop()]
    # Claimed but not begun: it waits for its lease, then any worker sends it.
    assert other.status == EmailStatus.SENDING and other.sent_at is None
