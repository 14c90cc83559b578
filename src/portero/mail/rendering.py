"""Turn an outbox row into a MIME message at send time, in the recipient's language."""

from __future__ import annotations

from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from portero.core import clock
from portero.core.context import branding
from portero.mail.composers import COMPOSERS
from portero.mail.models import OutboundEmail
from portero.mail.verp import verp_address, verp_enabled


def render_email(email: OutboundEmail) -> EmailMultiAlternatives:
    """Return the message for `email`; raise NotNeeded if it should not be sent any more."""
    with translation.override(email.language), timezone.override(settings.TIME_ZONE):
        composed = COMPOSERS[email.kind](email)
        context = {
            **branding(email.language),
            **composed.context,
            "year": clock.now().year,
            "language": email.language,
        }
        subject = render_to_string(f"mail/{composed.template}_subject.txt", context)
        text = render_to_string(f"mail/{composed.template}.txt", context)
        html = render_to_string(f"mail/{composed.template}.html", context)
    # With a bounce address the envelope sender (MAIL FROM, the receiver's Return-Path) names
    # this message, and the From header stays the sender's (docs/mail.md, "Bounces").
    verp = verp_enabled() and email.pk is not None
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # one line, whatever the template did
        body=text,
        from_email=verp_address(email.pk) if verp else settings.DEFAULT_FROM_EMAIL,
        to=[email.to_address],
        headers={
            "From": settings.DEFAULT_FROM_EMAIL,
            # Given when the row was first claimed, so a copy sent again after a crash has the
            # same one and receivers can drop it.
            "Message-ID": email.message_id or message_id_new(),
            "Auto-Submitted": "auto-generated",  # RFC 3834: no auto-replies, please
            "X-Auto-Response-Suppress": "All",
            "Content-Language": email.language,
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def message_id_new() -> str:
    """Return a new, unique Message-ID in Portero's domain."""
    return make_msgid(domain=urlsplit(settings.PORTERO_BASE_URL).hostname)
