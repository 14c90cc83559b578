"""Typed reading of environment variables; used only by the settings module."""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Env:
    """Read typed values from a mapping (the process environment by default)."""

    source: Mapping[str, str]

    @classmethod
    def from_os(cls) -> Env:
        return cls(os.environ)

    def str(self, name: builtins.str, default: builtins.str) -> builtins.str:
        return self.source.get(name, "").strip() or default

    def int(self, name: builtins.str, default: int, *, low: int, high: int) -> int:
        raw = self.source.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}.") from None
        if not low <= value <= high:
            raise ImproperlyConfigured(f"{name} must be between {low} and {high}, got {value}.")
        return value

    def float(self, name: builtins.str, default: float, *, low: float, high: float) -> float:
        raw = self.source.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}.") from None
        if not low <= value <= high:
            raise ImproperlyConfigured(f"{name} must be between {low} and {high}, got {value}.")
        return value

    def bool(self, name: builtins.str, default: bool) -> bool:
        raw = self.source.get(name, "").strip().lower()
        if not raw:
            return default
        if raw in {"1", "true", "yes", "on"}:
            return True
        if raw in {"0", "false", "no", "off"}:
            return False
        raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}.")

    def list(self, name: builtins.str) -> builtins.list[builtins.str]:
        return [item.strip() for item in self.source.get(name, "").split(",") if item.strip()]

    def choice(
        self, name: builtins.str, default: builtins.str, choices: tuple[builtins.str, ...]
    ) -> builtins.str:
        value = self.str(name, default).lower()
        if value not in choices:
            raise ImproperlyConfigured(
                f"{name} must be one of {', '.join(choices)}; got {value!r}."
            )
        return value


_PERIOD_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(name: str, raw: str) -> tuple[int, int] | None:
    """Return (count, period in seconds) for "5/1h", "30/10m", "100/d"; None for "off"."""
    text = raw.strip().lower()
    if text in {"off", "0", "none", "false"}:
        return None
    try:
        count_text, period_text = text.split("/")
        unit = period_text[-1]
        amount = int(period_text[:-1] or "1")
        count, period = int(count_text), amount * _PERIOD_UNITS[unit]
    except (ValueError, KeyError, IndexError):
        raise ImproperlyConfigured(
            f"{name} must look like 5/1h, 30/10m or 10/1d (or off); got {raw!r}."
        ) from None
    if count < 1 or period < 1:
        raise ImproperlyConfigured(f"{name} needs a positive count and period; got {raw!r}.")
    return count, period


EMAIL_SCHEMES = {
    # scheme: (default port, use STARTTLS, use implicit TLS)
    "smtp": (25, False, False),
    "smtp+starttls": (587, True, False),
    "smtp+ssl": (465, False, True),
}


def parse_email_url(url: str) -> dict[str, object]:
    """Return Django EMAIL_* settings for an `smtp[+starttls|+ssl]://user:pass@host:port` URL."""
    parts = urlsplit(url)
    if parts.scheme not in EMAIL_SCHEMES:
        known = ", ".join(f"{s}://" for s in EMAIL_SCHEMES)
        raise ImproperlyConfigured(f"EMAIL_URL must start with one of {known}; got {url!r}.")
    if not parts.hostname:
        raise ImproperlyConfigured(f"EMAIL_URL has no host: {url!r}.")
    default_port, starttls, implicit_tls = EMAIL_SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ImproperlyConfigured(f"EMAIL_URL has an invalid port: {url!r}.") from None
    query = parse_qs(parts.query)
    try:
        timeout = float(query.get("timeout", ["10"])[0])
    except ValueError:
        timeout = 0.0
    if not timeout > 0:
        raise ImproperlyConfigured(
            f"EMAIL_URL timeout must be a positive number of seconds; got {url!r}."
        )
    return {
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": starttls,
        "EMAIL_USE_SSL": implicit_tls,
        "EMAIL_TIMEOUT": timeout,
    }
