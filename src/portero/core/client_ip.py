"""The client's address: the socket's, or the one a trusted proxy reports (LI3)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(request: HttpRequest) -> str | None:
    """Return the client address.

    `X-Forwarded-For` is read right to left, and only while each hop is a configured trusted
    proxy; anything a client wrote further left is ignored. Without trusted proxies the header
    is ignored altogether.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    networks = _networks(tuple(settings.PORTERO_TRUSTED_PROXIES))
    if remote is None or not networks or not _trusted(remote, networks):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    client = remote
    for hop in reversed([h for h in hops if h]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage: stop at the last address we can vouch for
        client = hop
        if not _trusted(hop, networks):
            break
    return client
