"""Organization and membership events in a person's own "Historial de accesos", in Spanish
and English, with the help desk named when it made the change."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from portero.audit.events import EventType
from portero.audit.labels import HISTORY_EVENTS, event_label
from portero.organizations.models import Membership, Role
from portero.organizations.services import (
    membership_decide,
    membership_request,
    membership_set_role,
)
from portero.organizations.states import By
from tests.organizations.conftest import SYSTEM, Scene

pytestmark = pytest.mark.django_db


def history(user, language: str = "es-CO") -> str:  # type: ignore[no-untyped-def]
    browser = Client(HTTP_ACCEPT_LANGUAGE=language)
    browser.force_login(user)
    response = browser.get("/cuenta/historial/")
    assert response.status_code == 200
    return response.content.decode()


def test_organization_events_have_a_label_in_both_languages():
    for event in (
        EventType.ORGANIZATION_REGISTERED,
        EventType.ORGANIZATION_CHOSEN,
        EventType.MEMBERSHIP_CHANGED,
        EventType.MEMBERSHIP_ROLE_CHANGED,
    ):
        assert str(event) in HISTORY_EVENTS
        with translation.override("en"):
            english = event_label(event, {})
        with translation.override("es-co"):
            spanish = event_label(event, {})
        assert english != str(event) and spanish != english, event
    assert str(EventType.MEMBERSHIP_REFUSED) not in HISTORY_EVENTS  # others' attempts
    with translation.override("en"):
        assert event_label(EventType.MEMBERSHIP_CHANGED, {"action": "accept"}) == (
            "Access to an organization accepted"
        )
        assert event_label(EventType.MEMBERSHIP_CHANGED, {"action": "unheard-of"}) == (
            "Access to an organization changed"
        )


def test_my_history_shows_my_organization_events(scene: Scene, supervisor):
    admin_page = history(scene.admin)
    assert "Registró una organización" in admin_page
    assert "Quedó como administrador de una organización" in admin_page

    membership = Membership.objects.get(user=scene.member)
    membership_set_role(
        actor=scene.admin, membership=membership, role=Role.ADMINISTRATOR, client=SYSTEM
    )
    membership_decide(
        actor=supervisor,
        membership=membership,
        action="cancel",
        by=By.HELPDESK,
        reason="Ticket 4711",
        client=SYSTEM,
    )
    member_page = history(scene.member, "en")  # the member reads English
    for label in (
        "Asked for access to an organization",
        "Access to an organization accepted",
        "Role in an organization changed",
        "Access to an organization cancelled",
    ):
        assert label in member_page, label
    assert "Access to an organization cancelled (Service Desk)" in member_page

    request = membership_request(
        user=scene.outsider, organization=scene.organization, client=SYSTEM
    )
    membership_decide(
        actor=scene.admin, membership=request, action="reject", by=By.ADMINISTRATOR, client=SYSTEM
    )
    outsider_page = history(scene.outsider)
    assert "Solicitó acceso a una organización" in outsider_page
    assert "Solicitud de acceso a una organización rechazada" in outsider_page
