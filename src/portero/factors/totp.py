"""The authenticator app's codes (RFC 6238), through pyotp: 30 s steps, 6 digits, one step of
drift either way (MF1). Which step matched is returned so that a code is never accepted twice.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
import segno

DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1


def secret_new() -> str:
    """A new shared secret: 160 random bits in base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32(length=32)


def secret_grouped(secret: str) -> str:
    """The secret as a person types it: upper case, in groups of four."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_svg(uri: str, *, title: str) -> str:
    """The provisioning URI as an inline SVG QR code (no JavaScript, no image request)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, border=2, title=title, dark="#000", light="#fff"
    )
    return svg.replace("<svg ", '<svg role="img" ', 1)  # its <title> is its accessible name


def matching_step(secret: str, code: str, *, at: datetime, after: int | None) -> int | None:
    """Return the time step whose code is `code`, within the drift and later than `after`."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now_step = totp.timecode(at)
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
