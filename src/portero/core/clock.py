"""The one clock seam: all code asks this module for the time; tests move it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

_offset = timedelta(0)


def now() -> datetime:
    """Return the current aware UTC time (shifted by `advance` in tests)."""
    return timezone.now() + _offset


def advance(delta: timedelta) -> None:
    """Move the clock forward by `delta` (for tests and simulations)."""
    global _offset
    _offset += delta


def reset() -> None:
    """Undo every `advance`."""
    global _offset
    _offset = timedelta(0)
