"""VERP: each message's envelope sender names the message, so a bounce says which one failed.

With PORTERO_BOUNCE_ADDRESS = rebotes@secop.gov.co, message 42 leaves with the envelope sender
(and so, at the receiver, the Return-Path) rebotes+42.<tag>@secop.gov.co, where the tag is a
short keyed MAC of the id: `portero bounces` acts only on addresses whose tag is right, so
nobody can make Portero believe another message bounced (docs/mail.md).

Imported by the settings module to check the address at start-up, so it reads Django's settings
only inside functions.
"""

from __future__ import annotations

import hmac
import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import salted_hmac

from portero.core.crypto import keyed_digest

PURPOSE = "mail.verp"
# 12 hex digits, 48 bits: far beyond what anyone can guess over SMTP, short enough that the
# whole address stays readable in the headers of a bounce.
TAG_LENGTH = 12
_LOCAL = r"[a-z0-9](?:[a-z0-9._-]{0,40}[a-z0-9])?"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ADDRESS = re.compile(rf"^({_LOCAL})@({_LABEL}(?:\.{_LABEL})+)$")


def bounce_address_check(address: str) -> None:
    """Raise ImproperlyConfigured unless `address` is empty or a plain address such as
    rebotes@secop.gov.co (no "+": that is where the message's id goes)."""
    if address and not _ADDRESS.match(address):
        raise ImproperlyConfigured(
            "PORTERO_BOUNCE_ADDRESS must be a plain address such as rebotes@secop.gov.co "
            f"(letters, digits, . _ - before the @, no +), got {address!r}."
        )


def verp_enabled() -> bool:
    return bool(settings.PORTERO_BOUNCE_ADDRESS)


def _tag(email_id: int, secret: str | None = None) -> str:
    if secret is None:
        return keyed_digest(PURPOSE, str(email_id))[:TAG_LENGTH]
    # The same MAC under an older key (PORTERO_SECRET_KEY_FALLBACKS), for the bounces of
    # messages sent before the key was rotated.
    return salted_hmac(
        f"portero.{PURPOSE}", str(email_id), secret=secret, algorithm="sha256"
    ).hexdigest()[:TAG_LENGTH]


def verp_address(email_id: int) -> str:
    """Return the envelope sender of message `email_id`: rebotes+<id>.<tag>@domain."""
    local, _, domain = settings.PORTERO_BOUNCE_ADDRESS.partition("@")
    return f"{local}+{email_id}.{_tag(email_id)}@{domain}"


def verp_parse(address: str) -> int | None:
    """Return the message id named by bounce address `address`, or None if it is not one of
    ours or its tag is wrong (a forgery, or a typo)."""
    if not verp_enabled():
        return None
    local, _, domain = settings.PORTERO_BOUNCE_ADDRESS.partition("@")
    found = re.fullmatch(
        rf"{re.escape(local)}\+(\d{{1,18}})\.([0-9a-f]{{{TAG_LENGTH}}})@"
        rf"{re.escape(domain)}",
        address.strip().strip("<>").lower(),
    )
    if not found:
        return None
    email_id, tag = int(found[1]), found[2]
    secrets = [None, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if any(hmac.compare_digest(tag, _tag(email_id, secret)) for secret in secrets):
        return email_id
    return None
