"""Who is on the other end of a request: address, user agent, language."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.translation import get_language

from portero.core.client_ip import client_ip

USER_AGENT_MAX = 300


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str
    language: str

    @classmethod
    def from_request(cls, request: HttpRequest) -> ClientInfo:
        """Return the client of `request` (address per PORTERO_TRUSTED_PROXIES)."""
        return cls(
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX],
            language=get_language() or "es-co",
        )

    @classmethod
    def system(cls, language: str = "es-co") -> ClientInfo:
        """Return the client for actions started from the command line."""
        return cls(ip=None, user_agent="portero-cli", language=language)
