"""DKIM: every message signed on its way out, verifiable with the record `portero mail dns`
prints; start-up refuses half or broken DKIM settings."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from datetime import timedelta
from email import message_from_bytes
from io import StringIO
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from portero.core import clock
from portero.mail.dkim import dkim_settings_check
from portero.mail.models import EmailKind, EmailStatus, OutboundEmail
from portero.mail.services import email_queue
from portero.mail.verp import verp_address
from tests.conftest import SMTPSink

SELECTOR = "portero2026"
DOMAIN = "secop.gov.co"  # the test sender's, "SECOP II <registro@secop.gov.co>"


def _pem(key: Any, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    """A key as `openssl genrsa -out dkim.pem 2048` writes it (PKCS#8 PEM)."""
    path = tmp_path / "dkim.pem"
    path.write_bytes(_pem(rsa_key))
    return path


@pytest.fixture
def signing(settings: Any, key_file: Path) -> Path:
    settings.PORTERO_DKIM_KEY_FILE, settings.PORTERO_DKIM_SELECTOR = str(key_file), SELECTOR
    return key_file


@pytest.fixture
def raw_mail(mailbox: SMTPSink, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bytes the SMTP sink receives, exactly as sent (the sink keeps parsed messages)."""
    received: list[bytes] = []
    handle = mailbox.handle_DATA

    async def keep_raw(server: Any, session: Any, envelope: Any) -> str:
        received.append(envelope.original_content)
        return await handle(server, session, envelope)

    monkeypatch.setattr(mailbox, "handle_DATA", keep_raw)
    return received


def _send_one(user: Any, worker: Any) -> OutboundEmail:
    email = email_queue(
        kind=EmailKind.PASSWORD_CHANGED,
        to_address=user.email,
        language="es",
        user=user,
        context={"changed_at": clock.now().isoformat()},
    )
    worker.drain()
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT, email.last_error
    return email


def _dns_output(**options: Any) -> str:
    out = StringIO()
    call_command("mail", "dns", stdout=out, **options)
    return out.getvalue()


def _dnsfunc_from_output(output: str) -> Any:
    """Answer DNS queries from the records `portero mail dns` printed, as a resolver would."""
    records: dict[bytes, bytes] = {}
    for line in output.splitlines():
        if line and not line.startswith(";"):
            name, _, rest = line.partition(" IN TXT ")
            records[name.encode()] = "".join(re.findall(r'"([^"]*)"', rest)).encode()

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name)

    return dnsfunc


@pytest.mark.django_db
def test_sent_message_verifies_with_the_published_record(user, worker, raw_mail, signing):
    email = _send_one(user, worker)
    [raw] = raw_mail
    assert raw.startswith(b"DKIM-Signature:")
    assert dkim.verify(raw, dnsfunc=_dnsfunc_from_output(_dns_output()))
    signature = str(message_from_bytes(raw)["DKIM-Signature"])
    tags = dkim.util.parse_tag_value(re.sub(r"\s+", "", signature).encode())
    assert tags[b"d"] == DOMAIN.encode() and tags[b"s"] == SELECTOR.encode()
    assert tags[b"a"] == b"rsa-sha256" and tags[b"c"] == b"relaxed/relaxed"
    assert set(tags[b"h"].lower().replace(b" ", b"").split(b":")) >= {
        b"from",
        b"to",
        b"subject",
        b"date",
        b"message-id",
        b"mime-version",
        b"content-type",
    }
    assert email.message_id.encode() in raw


@pytest.mark.django_db
def test_signature_verifies_with_a_verp_envelope_sender(
    user, worker, raw_mail, signing, mailbox, settings
):
    settings.PORTERO_BOUNCE_ADDRESS = "rebotes@secop.gov.co"
    email = _send_one(user, worker)
    [raw] = raw_mail
    verp = verp_address(email.pk)
    assert mailbox.envelopes[0][0] == verp and verp.startswith(f"rebotes+{email.pk}.")
    # As the receiving server files it: with the Return-Path it adds from the envelope.
    delivered = f"Return-Path: <{verp}>\r\n".encode() + raw
    assert dkim.verify(delivered, dnsfunc=_dnsfunc_from_output(_dns_output()))
    assert str(message_from_bytes(raw)["From"]) == "SECOP II <registro@secop.gov.co>"
    signature = str(message_from_bytes(raw)["DKIM-Signature"])
    tags = dkim.util.parse_tag_value(re.sub(r"\s+", "", signature).encode())
    assert tags[b"d"] == DOMAIN.encode()  # still the From domain, which DMARC aligns with


@pytest.mark.django_db
def test_a_changed_body_or_subject_fails_verification(user, worker, raw_mail, signing):
    _send_one(user, worker)
    [raw] = raw_mail
    dnsfunc = _dnsfunc_from_output(_dns_output())
    header_end = raw.index(b"\r\n\r\n")
    tampered_body = raw[:header_end] + raw[header_end:].replace(b"Mesa", b"Mesa falsa", 1)
    assert tampered_body != raw and not dkim.verify(tampered_body, dnsfunc=dnsfunc)
    subject = re.search(rb"\r\nSubject: [^\r]*", raw)
    assert subject is not None
    tampered_subject = raw.replace(subject.group(0), b"\r\nSubject: Urgente: verifique", 1)
    assert not dkim.verify(tampered_subject, dnsfunc=dnsfunc)


@pytest.mark.django_db
def test_signing_domain_can_be_set_apart_from_the_sender(user, worker, raw_mail, signing, settings):
    settings.PORTERO_DKIM_DOMAIN = "correo.secop.gov.co"
    _send_one(user, worker)
    output = _dns_output()
    assert f"{SELECTOR}._domainkey.correo.secop.gov.co. IN TXT" in output
    assert "_dmarc.secop.gov.co. IN TXT" in output  # DMARC and SPF stay the sender's
    assert dkim.verify(raw_mail[0], dnsfunc=_dnsfunc_from_output(output))


@pytest.mark.django_db
def test_a_retry_is_signed_again(user, worker, raw_mail, signing, mailbox):
    mailbox.fail_data = "451 4.3.0 Try again later"
    email = email_queue(
        kind=EmailKind.PASSWORD_CHANGED,
        to_address=user.email,
        language="es",
        user=user,
        context={"changed_at": clock.now().isoformat()},
    )
    worker.drain()
    mailbox.fail_data = None
    clock.advance(timedelta(minutes=2))
    worker.drain()
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and email.attempts == 2
    refused, accepted = raw_mail  # the sink saw the refused attempt's data too
    assert refused.count(b"DKIM-Signature:") == accepted.count(b"DKIM-Signature:") == 1
    assert dkim.verify(accepted, dnsfunc=_dnsfunc_from_output(_dns_output()))


@pytest.mark.django_db
def test_no_signature_when_dkim_is_not_configured(user, worker, raw_mail, settings):
    assert not settings.PORTERO_DKIM_KEY_FILE and not settings.PORTERO_DKIM_SELECTOR
    _send_one(user, worker)
    assert b"DKIM-Signature" not in raw_mail[0]
    assert "DKIM: not configured" in _dns_output()


@pytest.mark.django_db
def test_a_key_file_gone_bad_after_start_up_keeps_the_message_for_later(
    user, worker, raw_mail, signing
):
    signing.write_text("not a key")
    email = email_queue(
        kind=EmailKind.PASSWORD_CHANGED,
        to_address=user.email,
        language="es",
        user=user,
        context={"changed_at": clock.now().isoformat()},
    )
    worker.drain()
    email.refresh_from_db()
    assert raw_mail == []  # never unsigned
    assert email.status == EmailStatus.RETRYING and "PORTERO_DKIM_KEY_FILE" in email.last_error


# --- portero mail dns -----------------------------------------------------------------------


@pytest.mark.django_db
def test_dns_record_carries_the_public_key_in_255_character_strings(signing, rsa_key):
    output = _dns_output()
    [line] = [x for x in output.splitlines() if "._domainkey." in x and not x.startswith(";")]
    assert line.startswith(f"{SELECTOR}._domainkey.{DOMAIN}. IN TXT ")
    strings = re.findall(r'"([^"]*)"', line)
    assert len(strings) > 1 and all(len(s) <= 255 for s in strings)
    assert all(len(s) == 255 for s in strings[:-1])
    value = "".join(strings)
    assert value.startswith("v=DKIM1; k=rsa; p=")
    published = base64.b64decode(value.split("p=")[1])
    assert published == rsa_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.django_db
def test_dns_spf_names_the_sending_hosts_or_asks_for_them():
    without = _dns_output()
    assert re.search(r'^secop\.gov\.co\. IN TXT "v=spf1 REPLACE-THIS\S* -all"$', without, re.M)
    assert "replace REPLACE-THIS" in without
    named = _dns_output(include=["spf.relay.example.net"], ip4=["203.0.113.5", "198.51.100.0/24"])
    assert (
        'secop.gov.co. IN TXT "v=spf1 include:spf.relay.example.net ip4:203.0.113.5 '
        'ip4:198.51.100.0/24 -all"'
    ) in named
    assert "REPLACE" not in named
    with pytest.raises(CommandError, match="--ip4"):
        _dns_output(ip4=["smtp.example.net"])


@pytest.mark.django_db
def test_dns_dmarc_quarantines_and_sends_reports_where_asked():
    output = _dns_output(report_address="dmarc@secop.gov.co")
    assert (
        '_dmarc.secop.gov.co. IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@secop.gov.co"'
    ) in output
    assert '_dmarc.secop.gov.co. IN TXT "v=DMARC1; p=quarantine"' in _dns_output()


# --- settings -------------------------------------------------------------------------------


def test_settings_check_accepts_a_good_key_of_either_pem_form(key_file, tmp_path, rsa_key):
    dkim_settings_check(key_file=str(key_file), selector=SELECTOR, domain="")
    pkcs1 = tmp_path / "pkcs1.pem"
    pkcs1.write_bytes(_pem(rsa_key, serialization.PrivateFormat.TraditionalOpenSSL))
    dkim_settings_check(key_file=str(pkcs1), selector=SELECTOR, domain=DOMAIN)
    dkim_settings_check(key_file="", selector="", domain="")


def _bad_key_files(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> dict[str, Path]:
    files = {
        "public": rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "garbage": b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
        "small": _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),  # noqa: S505 (to be refused)
        "ec": _pem(ec.generate_private_key(ec.SECP256R1())),
        "encrypted": rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        ),
    }
    for name, data in files.items():
        (tmp_path / f"{name}.pem").write_bytes(data)
    return {name: tmp_path / f"{name}.pem" for name in [*files, "missing"]}


@pytest.mark.parametrize("kind", ["public", "garbage", "small", "ec", "encrypted", "missing"])
def test_settings_check_refuses_what_is_not_a_usable_private_key(kind, tmp_path, rsa_key):
    path = _bad_key_files(tmp_path, rsa_key)[kind]
    with pytest.raises(ImproperlyConfigured, match="PORTERO_DKIM_KEY_FILE"):
        dkim_settings_check(key_file=str(path), selector=SELECTOR, domain="")


def test_settings_check_wants_key_file_and_selector_together(key_file):
    with pytest.raises(ImproperlyConfigured, match="PORTERO_DKIM_SELECTOR is not set"):
        dkim_settings_check(key_file=str(key_file), selector="", domain="")
    with pytest.raises(ImproperlyConfigured, match="PORTERO_DKIM_KEY_FILE is not set"):
        dkim_settings_check(key_file="", selector=SELECTOR, domain="")
    with pytest.raises(ImproperlyConfigured, match="PORTERO_DKIM_SELECTOR"):
        dkim_settings_check(key_file=str(key_file), selector="bad selector", domain="")
    with pytest.raises(ImproperlyConfigured, match="PORTERO_DKIM_DOMAIN"):
        dkim_settings_check(key_file=str(key_file), selector=SELECTOR, domain="not a domain")


def _start(**overrides: str) -> subprocess.CompletedProcess[str]:
    """Load Portero's production settings in a fresh process with `overrides`."""
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
            "PORTERO_AUDIT_KEY_FILE": str(settings.PORTERO_AUDIT_KEY_FILE),
            "DJANGO_SETTINGS_MODULE": "portero.config.settings",
            **overrides,
        }
    )
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.PORTERO_DKIM_SELECTOR, settings.PORTERO_DKIM_DOMAIN)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_start_up_refuses_half_or_broken_dkim_settings(key_file, tmp_path):
    good = _start(PORTERO_DKIM_KEY_FILE=str(key_file), PORTERO_DKIM_SELECTOR="Portero2026")
    assert good.returncode == 0, good.stderr
    assert good.stdout.split() == ["portero2026"]
    half = _start(PORTERO_DKIM_KEY_FILE=str(key_file))
    assert half.returncode != 0
    assert "ImproperlyConfigured: PORTERO_DKIM_SELECTOR is not set" in half.stderr
    (tmp_path / "public.pem").write_text(
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    )
    broken = _start(
        PORTERO_DKIM_KEY_FILE=str(tmp_path / "public.pem"), PORTERO_DKIM_SELECTOR="portero2026"
    )
    assert broken.returncode != 0
    assert "ImproperlyConfigured: PORTERO_DKIM_KEY_FILE" in broken.stderr
