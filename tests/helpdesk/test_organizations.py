"""The console's organizations: a person's memberships, an organization's page, the search
by NIT or name, and a supervisor's decisions with a reason (OR1, OR2); agents only look."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from portero.audit.models import AuditEvent
from portero.helpdesk.roles import AGENT_GROUP, SUPERVISOR_GROUP
from portero.helpdesk.selectors import SEARCH_LIMIT
from portero.mail.models import EmailKind, OutboundEmail
from portero.organizations.models import Membership, MembershipChange, MembershipState, Role
from portero.organizations.services import membership_decide, membership_request
from portero.organizations.states import By
from tests.helpdesk.test_console import _signed_in, _staff
from tests.organizations.conftest import (
    NIT_B,
    NIT_B_SHOWN,
    SYSTEM,
    Scene,
    accepted,
    person,
    register,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene() -> Scene:
    """An entity with its administrator, one accepted member, and an outsider."""
    admin, member = person("admin.entidad"), person("miembro.entidad", language="en")
    organization = register(admin)
    accepted(organization, member, admin)
    return Scene(admin, member, person("ajeno.entidad"), organization)


@pytest.fixture
def agent():  # type: ignore[no-untyped-def]
    return _staff("agente.uno", AGENT_GROUP)


@pytest.fixture
def boss():  # type: ignore[no-untyped-def]
    return _staff("supervisora", SUPERVISOR_GROUP)


def page_of(console: Client, scene: Scene) -> str:
    return console.get(f"/mesa/organizacion/{scene.organization.pk}/").content.decode()


def decide(
    console: Client,
    scene: Scene,
    membership: Membership,
    action: str,
    reason: str = "Ticket 4711",
    token: str | None = None,
):  # type: ignore[no-untyped-def]
    if token is None:
        token = token_for(page_of(console, scene), membership, action)
    return console.post(
        f"/mesa/organizacion/{scene.organization.pk}/decidir/{membership.pk}/",
        {"action": action, "reason": reason, "token": token},
        follow=True,
    )


def token_for(html: str, membership: Membership, action: str) -> str:
    """The token of the form deciding `action` on `membership`, from the page."""
    form = html.split(f"/decidir/{membership.pk}/")
    for part in form[1:]:
        part = part.split("</form>")[0]
        if f'value="{action}"' in part:
            return re.search(r'name="token" value="([^"]+)"', part).group(1)  # type: ignore[union-attr]
    raise AssertionError(f"no {action} form for membership {membership.pk}")


def pending(scene: Scene) -> Membership:
    return membership_request(user=scene.outsider, organization=scene.organization, client=SYSTEM)


def state_of(membership: Membership) -> str:
    return Membership.objects.get(pk=membership.pk).state


def test_the_account_page_lists_memberships_and_leads_to_the_organization_page(scene, agent):
    other = register(scene.admin, nit=NIT_B, name="Proveedora Andina S.A.S.", kind="proveedor")
    membership_request(user=scene.member, organization=other, client=SYSTEM)
    console = _signed_in(agent)

    page = console.get(f"/mesa/usuario/{scene.member.pk}/").content.decode()
    assert f'href="/mesa/organizacion/{scene.organization.pk}/"' in page
    assert f'href="/mesa/organizacion/{other.pk}/"' in page
    assert "Alcaldía de Prueba" in page and "Proveedora Andina S.A.S." in page
    assert "Aceptado" in page and "Pendiente" in page and "Usuario" in page
    alone = console.get(f"/mesa/usuario/{scene.outsider.pk}/").content.decode()
    assert "no actúa por ninguna organización" in alone

    request = pending(scene)
    page = page_of(console, scene)
    for username in (scene.admin.username, scene.member.username, scene.outsider.username):
        assert username in page
    assert "Administrador" in page and "Solicitudes pendientes" in page
    assert "solicitó acceso" in page and "aceptado" in page  # the history
    assert 'name="token"' not in page  # an agent sees, and cannot act
    assert "Solo un supervisor" in page
    assert AuditEvent.objects.filter(
        event="helpdesk.organization_viewed",
        actor=f"agent:{agent.pk}",
        subject=f"organization:{scene.organization.pk}",
    ).exists()
    assert state_of(request) == MembershipState.PENDING


@pytest.mark.parametrize("query", [NIT_B_SHOWN, NIT_B[:9], "900514", "andina", "ANDINA s.a.s"])
def test_the_search_finds_organizations_by_nit_or_name(scene, agent, query):
    other = register(scene.admin, nit=NIT_B, name="Proveedora Andina S.A.S.", kind="proveedor")
    page = _signed_in(agent).get("/mesa/", {"q": query}).content.decode()
    assert f'href="/mesa/organizacion/{other.pk}/"' in page
    assert f'href="/mesa/organizacion/{scene.organization.pk}/"' not in page
    assert NIT_B_SHOWN in page
    searched = AuditEvent.objects.get(event="helpdesk.searched")
    assert searched.details["organizations"] == 1


def test_an_organization_search_is_capped(agent):
    admin = person("admin.muchas")
    nits = [
        "8001972684",
        "9005148132",
        "8600345941",
        "8999990010",
        "8000917232",
        "8301152979",
        "8600073861",
        "8605106697",
        "8999990902",
        "8000935311",
        "8001024306",
        "8001033720",
        "8001163983",
        "8000975804",
        "8909800409",
        "8918003306",
        "8917800093",
        "8903990106",
        "8920999743",
        "8000940677",
        "8001001384",
        "8999994311",
        "8913800380",
        "8918550176",
        "8002014990",
        "8001003139",
    ]
    for number, nit in enumerate(nits):
        register(admin, nit=nit, name=f"Entidad Común {number:02}")
    page = _signed_in(agent).get("/mesa/", {"q": "común"}).content.decode()
    assert len(re.findall(r'href="/mesa/organizacion/\d+/"', page)) == SEARCH_LIMIT
    assert "Más de 25 organizaciones" in page


def test_or1_a_supervisor_accepts_with_a_reason_the_member_is_told_and_a_double_click_acts_once(
    scene, boss
):
    request = pending(scene)
    console = _signed_in(boss)
    token = token_for(page_of(console, scene), request, "accept")
    response = decide(console, scene, request, "accept", token=token)
    assert "ahora actúa por la organización" in response.content.decode()
    again = decide(console, scene, request, "accept", token=token)  # the second click
    assert "ya se había realizado" in again.content.decode()

    assert state_of(request) == MembershipState.ACCEPTED
    change = MembershipChange.objects.get(membership=request, action="accept")
    assert (change.by, change.actor, change.reason) == ("helpdesk", boss, "Ticket 4711")
    events = AuditEvent.objects.filter(
        event="membership.changed", details__action="accept", user=scene.outsider
    )
    assert [(e.actor, e.details["reason"], e.details["by"]) for e in events] == [
        (f"agent:{boss.pk}", "Ticket 4711", "helpdesk")
    ]
    notices = OutboundEmail.objects.filter(user=scene.outsider, kind=EmailKind.MEMBERSHIP_CHANGED)
    assert [
        (n.context["action"], n.context["reason"], n.context["by_helpdesk"]) for n in notices
    ] == [("accept", "Ticket 4711", True)]
    page = page_of(console, scene)
    assert "Ticket 4711" in page and "(Mesa de Servicio)" in page  # in the history


def test_or1_a_supervisor_cancels_an_accepted_member(scene, boss):
    membership = Membership.objects.get(user=scene.member)
    decide(_signed_in(boss), scene, membership, "cancel", reason="Retiro de la empresa")
    assert state_of(membership) == MembershipState.CANCELLED
    assert MembershipChange.objects.filter(
        membership=membership, action="cancel", by="helpdesk", reason="Retiro de la empresa"
    ).exists()


def test_or1_agents_see_but_cannot_act_and_the_attempt_is_recorded(scene, agent):
    request = pending(scene)
    console = _signed_in(agent)
    assert 'name="token"' not in page_of(console, scene)
    response = decide(console, scene, request, "accept", token="forged-token-123456")
    assert "Solo un supervisor" in response.content.decode()
    assert state_of(request) == MembershipState.PENDING
    refused = AuditEvent.objects.get(event="helpdesk.refused", actor=f"agent:{agent.pk}")
    assert refused.outcome == "refused" and refused.details["action"] == "membership_accept"
    assert not OutboundEmail.objects.filter(
        user=scene.outsider, kind=EmailKind.MEMBERSHIP_CHANGED
    ).exists()


@pytest.mark.parametrize("reason", ["", "   ", "=HYPERLINK(1)"])
def test_or1_a_decision_needs_a_written_reason(scene, boss, reason):
    request = pending(scene)
    response = decide(_signed_in(boss), scene, request, "accept", reason=reason)
    assert "Escriba el motivo" in response.content.decode()
    assert state_of(request) == MembershipState.PENDING
    assert AuditEvent.objects.filter(
        event="helpdesk.refused", details__action="membership_accept"
    ).exists()


def test_or2_a_supervisor_cannot_cancel_the_last_administrator(scene, boss):
    admin = Membership.objects.get(user=scene.admin)
    console = _signed_in(boss)
    response = decide(console, scene, admin, "cancel")
    assert "al menos un administrador" in response.content.decode()
    assert state_of(admin) == MembershipState.ACCEPTED
    assert (
        AuditEvent.objects.filter(
            event="membership.refused", actor=f"agent:{boss.pk}", details__why="last_administrator"
        ).count()
        == 1
    )
    assert (
        AuditEvent.objects.filter(
            event="helpdesk.refused", actor=f"agent:{boss.pk}", details__why="last_administrator"
        ).count()
        == 1
    )

    member = Membership.objects.get(user=scene.member)  # with a second administrator, it may
    member.role = Role.ADMINISTRATOR
    member.save()
    decide(console, scene, admin, "cancel")
    assert state_of(admin) == MembershipState.CANCELLED


def test_a_decision_on_a_request_that_changed_meanwhile_is_refused(scene, boss):
    request = pending(scene)
    console = _signed_in(boss)
    token = token_for(page_of(console, scene), request, "accept")
    membership_decide(
        actor=scene.admin, membership=request, action="reject", by=By.ADMINISTRATOR, client=SYSTEM
    )
    response = decide(console, scene, request, "accept", token=token)
    assert "cambió mientras tanto" in response.content.decode()
    assert state_of(request) == MembershipState.REJECTED


def test_a_supervisor_never_decides_on_their_own_membership(scene, boss):
    own = membership_request(user=boss, organization=scene.organization, client=SYSTEM)
    console = _signed_in(boss)
    page = page_of(console, scene)
    assert f"/decidir/{own.pk}/" not in page
    decide(console, scene, own, "accept", token="forged-token-654321")
    assert state_of(own) == MembershipState.PENDING


def test_a_membership_of_another_organization_is_not_found(scene, boss):
    other = register(scene.admin, nit=NIT_B, name="Otra")
    console = _signed_in(boss)
    membership = Membership.objects.get(user=scene.member)
    response = console.post(
        f"/mesa/organizacion/{other.pk}/decidir/{membership.pk}/",
        {"action": "cancel", "reason": "x", "token": "t" * 20},
    )
    assert response.status_code == 404
    assert console.get("/mesa/organizacion/999999/").status_code == 404
    assert state_of(membership) == MembershipState.ACCEPTED


def test_the_organization_page_is_for_the_console_only(scene):
    member = Client()
    member.force_login(scene.admin)  # its own administrator: their page is elsewhere (OR4)
    assert member.get(f"/mesa/organizacion/{scene.organization.pk}/").status_code == 403
