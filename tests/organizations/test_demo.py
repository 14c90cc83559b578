"""The demo ships two organizations and users in two, one and none, so the selector shows."""

from __future__ import annotations

import pytest
from django.test import Client

from portero.demo.management.commands.demo import DEMO_PASSWORD, demo_users_create
from portero.organizations.models import Membership, Organization

pytestmark = pytest.mark.django_db


def test_the_demo_has_users_in_two_one_and_no_organizations():
    demo_users_create()
    demo_users_create()  # once
    assert Organization.objects.count() == 2
    counts = {
        name: Membership.objects.filter(user__username=name).count()
        for name in ("gongoragabriela", "gongora.compras", "proveedor.nuevo")
    }
    assert counts == {"gongoragabriela": 1, "gongora.compras": 2, "proveedor.nuevo": 0}
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    signed_in = browser.post(
        "/ingresar/", {"username": "gongora.compras", "password": DEMO_PASSWORD}
    )
    assert signed_in["Location"] == "/cuenta/organizaciones/elegir/"
