"""The username reminder names, next to each username of the address, the organizations it
acts for: the owner of a shared office address knows which username to use (FU2)."""

from __future__ import annotations

import pytest

from portero.core.client import ClientInfo
from portero.recovery.flows.username_reminder import request_username_reminder
from tests.helpers import html_of, text_of
from tests.organizations.conftest import NIT_B, accepted, person, register

pytestmark = pytest.mark.django_db


def test_the_reminder_lists_the_organizations_of_each_username(worker, mailbox):
    shared = "compras@alcaldia.example"
    compras, contratos = (
        person("gongora.compras", email=shared),
        person("gongora.contratos", email=shared),
    )
    person("gongora.personal", email=shared)
    entity = register(compras)
    supplier = register(
        person("otra.admin"), nit=NIT_B, name="Suministros del Caribe S.A.S.", kind="proveedor"
    )
    accepted(supplier, contratos, supplier.memberships.get().user)
    register(person("tercera.admin"), nit="8999990902", name="Ministerio")  # not theirs
    request_username_reminder(email=shared, client=ClientInfo.system())
    worker.drain()
    [reminder] = [
        m for m in mailbox.messages if shared in m["To"] and "gongora.personal" in text_of(m)
    ]
    body = text_of(reminder)
    assert f"- gongora.compras – actúa por: {entity.name} (800.197.268-4)" in body
    assert "- gongora.contratos – actúa por: Suministros del Caribe S.A.S. (900.514.813-2)" in body
    assert "- gongora.personal\n" in body and "Ministerio" not in body
    assert "Suministros del Caribe S.A.S. (900.514.813-2)" in html_of(reminder)
