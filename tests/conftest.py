"""Shared fixtures: a real SMTP server on loopback, the worker, the clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from django.test import Client

from portero.accounts.hashers import PorteroArgon2PasswordHasher
from portero.accounts.models import User
from portero.accounts.services import user_create
from portero.audit import chain
from portero.core import clock as clock_module
from portero.core import write_lock
from portero.mail import delivery
from portero.recovery import processing
from portero.worker import Worker
from tests.processes import free_port

PASSWORD = "una frase larga y secreta 2026"
NEW_PASSWORD = "otra clave distinta para probar"


@dataclass
class SMTPSink:
    """aiosmtpd handler: keeps what it accepts, or answers with a chosen failure."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    fail_rcpt: str | None = None  # e.g. "550 5.1.1 No such user"
    fail_data: str | None = None  # e.g. "451 4.3.0 Try again later"
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.fail_rcpt:
            return self.fail_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail_data:
            return self.fail_data
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 Queued as TEST"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()
        self.fail_rcpt = self.fail_data = None


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[SMTPSink, int]]:
    sink = SMTPSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[SMTPSink, int], settings: Any) -> Iterator[SMTPSink]:
    """The SMTP sink, emptied, with Portero's EMAIL_* settings pointing at it."""
    sink, port = smtp_server
    sink.clear()
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    yield sink
    sink.clear()


@pytest.fixture
def worker(mailbox: SMTPSink) -> Worker:
    return Worker()


@pytest.fixture(autouse=True)
def _fresh_redis_counters(settings: Any) -> Iterator[None]:
    """When the suite runs with REDIS_URL, start every test with empty counters."""
    if settings.REDIS_URL:
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
    yield


@pytest.fixture(autouse=True)
def _fresh_batch_sizes() -> Iterator[None]:
    """Start every test with the worker's batch sizes unlearnt (they follow past timings)."""
    for sizer in (processing.SIZER, chain.SEAL_SIZER, delivery.SIZER):
        sizer.reset()
    write_lock.HELD.reset()
    yield


@pytest.fixture(autouse=True)
def clock() -> Iterator[Any]:
    """The clock seam; tests move it with clock.advance(timedelta(...))."""
    clock_module.reset()
    yield clock_module
    clock_module.reset()


@pytest.fixture
def user(db: None) -> User:
    return user_create(
        username="gongoragabriela",
        email="gabriela@example.com",
        full_name="Gabriela Góngora",
        password=PASSWORD,
    )


@pytest.fixture
def hash_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count argon2 computations (encode or verify), letting them run for real."""
    calls: list[str] = []
    real_encode = PorteroArgon2PasswordHasher.encode
    real_verify = PorteroArgon2PasswordHasher.verify

    def encode(self: PorteroArgon2PasswordHasher, password: str, salt: str) -> str:
        calls.append("hash")
        return real_encode(self, password, salt)

    def verify(self: PorteroArgon2PasswordHasher, password: str, encoded: str) -> bool:
        calls.append("hash")
        return real_verify(self, password, encoded)

    monkeypatch.setattr(PorteroArgon2PasswordHasher, "encode", encode)
    monkeypatch.setattr(PorteroArgon2PasswordHasher, "verify", verify)
    return calls


@pytest.fixture
def client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="es-CO")
