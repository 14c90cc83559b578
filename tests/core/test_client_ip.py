"""LI3: the client address comes from the socket unless a trusted proxy forwarded it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from portero.core.client_ip import client_ip


def _request(remote: str, forwarded: str | None = None):  # type: ignore[no-untyped-def]
    extra: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_li3_forwarded_for_from_an_untrusted_peer_is_ignored(settings):
    settings.PORTERO_TRUSTED_PROXIES = []
    assert client_ip(_request("203.0.113.5", "198.51.100.1")) == "203.0.113.5"


def test_li3_trusted_proxy_reports_the_client(settings):
    settings.PORTERO_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request("10.1.2.3", "198.51.100.1")) == "198.51.100.1"


def test_li3_spoofed_entries_left_of_the_real_client_are_ignored(settings):
    settings.PORTERO_TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = _request("10.1.2.3", "1.1.1.1, 198.51.100.1, 10.9.9.9")
    assert client_ip(request) == "198.51.100.1"


@pytest.mark.parametrize("header", ["garbage", "", " , ", "198.51.100.1\r\nX: y"])
def test_li3_malformed_forwarded_for_falls_back_to_the_proxy(settings, header):
    settings.PORTERO_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request("10.1.2.3", header)) == "10.1.2.3"


def test_li3_untrusted_peer_claiming_to_be_a_proxy_is_not_believed(settings):
    settings.PORTERO_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request("203.0.113.5", "198.51.100.1")) == "203.0.113.5"
