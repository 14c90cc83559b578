"""The Mesa de Servicio sees every sign-out sent to a portal, and can send a failed one again."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from portero.accounts.services import user_create
from portero.audit.models import AuditEvent
from portero.federation.models import DeliveryStatus, LogoutDelivery
from portero.helpdesk.roles import AGENT_GROUP
from tests.federation.conftest import get_code, redeem
from tests.helpers import sign_in_with_factor, with_second_factor

pytestmark = pytest.mark.django_db

STAFF_PASSWORD = "clave de la mesa de servicio 77"


@pytest.fixture
def console(db: None) -> Client:
    agent = user_create(
        username="agente.uno", email="agente@mesa.example", is_staff=True, password=STAFF_PASSWORD
    )
    agent.groups.add(Group.objects.get(name=AGENT_GROUP))
    codes, _ = with_second_factor(agent)  # the console needs one (MF6)
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    sign_in_with_factor(browser, "agente.uno", STAFF_PASSWORD, codes[0])
    return browser


def test_oi6_the_help_desk_sees_a_portal_that_did_not_take_the_sign_out_and_resends_it(
    local_portal, browser, receiver, worker, console, user
):
    redeem(local_portal, get_code(browser, local_portal))
    receiver.status = 503
    browser.post("/salir/")
    worker.drain()

    page = console.get(f"/mesa/usuario/{user.pk}/").content.decode()
    assert "Portal de contratación" in page and "HTTP 503" in page and "Reintentando" in page
    queue = console.get("/mesa/cola/").content.decode()
    assert "Portal de contratación" in queue

    delivery = LogoutDelivery.objects.get()
    receiver.status = 200
    refused = console.post(f"/mesa/usuario/{user.pk}/cierre/{delivery.pk}/", {"reason": ""})
    assert refused.status_code == 302
    assert LogoutDelivery.objects.get().status == DeliveryStatus.RETRYING
    console.post(f"/mesa/usuario/{user.pk}/cierre/{delivery.pk}/", {"reason": "Ticket 77"})
    assert LogoutDelivery.objects.get().status == DeliveryStatus.QUEUED
    worker.drain()
    assert LogoutDelivery.objects.get().status == DeliveryStatus.SENT
    assert AuditEvent.objects.filter(event="helpdesk.logout_resent", user=user).exists()


def test_people_without_a_console_role_cannot_resend(local_portal, browser, user, receiver, worker):
    redeem(local_portal, get_code(browser, local_portal))
    receiver.status = 400
    browser.post("/salir/")
    worker.drain()
    delivery = LogoutDelivery.objects.get()
    other = Client()
    other.post(
        "/ingresar/", {"username": user.username, "password": "una frase larga y secreta 2026"}
    )
    response = other.post(f"/mesa/usuario/{user.pk}/cierre/{delivery.pk}/", {"reason": "x"})
    assert response.status_code == 403
    assert LogoutDelivery.objects.get().status == DeliveryStatus.FAILED
