"""The membership state machine: allowed transitions only, each recorded, the member told
(OR1), and an organization never without an active administrator (OR2)."""

from __future__ import annotations

import pytest

from portero.accounts.services import user_set_active
from portero.audit.models import AuditEvent
from portero.mail.models import EmailKind, OutboundEmail
from portero.organizations.models import Membership, MembershipChange, MembershipState, Role
from portero.organizations.services import (
    MembershipRefused,
    OrganizationExists,
    membership_decide,
    membership_request,
    membership_set_role,
    organization_register,
)
from portero.organizations.states import TRANSITIONS, By, allowed
from tests.organizations.conftest import NIT_A, SYSTEM, Scene, accepted, person, register

pytestmark = pytest.mark.django_db

P, A, R, C = "pendiente", "aceptado", "rechazado", "cancelado"


def decide(scene: Scene, membership: Membership, action: str, actor=None, **extra):  # type: ignore[no-untyped-def]
    return membership_decide(
        actor=actor or scene.admin,
        membership=membership,
        action=action,
        by=extra.pop("by", By.ADMINISTRATOR),
        client=SYSTEM,
        **extra,
    )


def notices_to(user, kind=EmailKind.MEMBERSHIP_CHANGED) -> list[OutboundEmail]:  # type: ignore[no-untyped-def]
    return list(OutboundEmail.objects.filter(user=user, kind=kind).order_by("pk"))


def test_the_table_allows_exactly_the_documented_transitions():
    table = {
        name: (sorted(str(s) for s in t.sources), str(t.target), sorted(t.by))
        for name, t in TRANSITIONS.items()
    }
    assert table == {
        "request": (["None", C], P, ["member"]),
        "accept": ([P], A, ["administrator", "helpdesk"]),
        "reject": ([P], R, ["administrator"]),
        "cancel": ([A, P], C, ["administrator", "helpdesk"]),
        "revert_rejection": ([R], P, ["administrator"]),
        "register": (["None"], A, ["system"]),
        "import": (["None", C, P, R], A, ["import"]),
    }
    assert not allowed("request", source=R, by=By.MEMBER)  # a rejection is not re-asked
    assert not allowed("accept", source=P, by=By.MEMBER)


def test_registering_makes_the_creator_its_administrator():
    creator = person("creadora")
    membership = organization_register(
        user=creator,
        kind="proveedor",
        name="Proveedora S.A.S.",
        nit=NIT_A,
        city="Medellín",
        client=SYSTEM,
    )
    assert (membership.role, membership.state) == (Role.ADMINISTRATOR, MembershipState.ACCEPTED)
    assert AuditEvent.objects.filter(event="organization.registered", user=creator).exists()
    with pytest.raises(OrganizationExists):
        organization_register(
            user=person("otra"), kind="proveedor", name="Copia", nit=NIT_A, city="", client=SYSTEM
        )
    # The same NIT as another kind is another SECOP account.
    organization_register(
        user=person("tercera"), kind="entidad", name="Entidad", nit=NIT_A, city="", client=SYSTEM
    )


def test_or1_a_request_tells_every_administrator_and_a_decision_tells_the_member(scene):
    second_admin = person("segunda.admin", language="en")
    membership_set_role(
        actor=scene.admin,
        membership=accepted(scene.organization, second_admin, scene.admin),
        role=Role.ADMINISTRATOR,
        client=SYSTEM,
    )
    request = membership_request(
        user=scene.outsider, organization=scene.organization, client=SYSTEM
    )
    asked = OutboundEmail.objects.filter(
        kind=EmailKind.MEMBERSHIP_REQUESTED, context__membership=request.pk
    )
    assert sorted(asked.values_list("to_address", "language")) == sorted(
        [(scene.admin.email, "es-co"), (second_admin.email, "en")]
    )

    decide(scene, request, "reject", reason="No trabaja aquí")
    decide(scene, request, "revert_rejection")
    decide(scene, request, "accept")
    decide(scene, request, "cancel", reason="Se retiró")
    actions = [e.context["action"] for e in notices_to(scene.outsider)]
    assert actions == ["reject", "revert_rejection", "accept", "cancel"]
    assert notices_to(scene.outsider)[0].context["reason"] == "No trabaja aquí"
    history = MembershipChange.objects.filter(membership=request).order_by("pk")
    assert [(h.action, h.from_state, h.to_state, h.actor_id) for h in history] == [
        ("request", "", P, scene.outsider.pk),
        ("reject", P, R, scene.admin.pk),
        ("revert_rejection", R, P, scene.admin.pk),
        ("accept", P, A, scene.admin.pk),
        ("cancel", A, C, scene.admin.pk),
    ]
    audited = AuditEvent.objects.filter(event="membership.changed", user=scene.outsider)
    assert [e.details["action"] for e in audited.order_by("pk")] == [
        "request",
        "reject",
        "revert_rejection",
        "accept",
        "cancel",
    ]
    assert all(
        e.actor == f"user:{scene.admin.pk}" for e in audited.exclude(details__action="request")
    )


def test_or1_only_an_administrator_of_that_organization_decides(scene):
    request = membership_request(
        user=scene.outsider, organization=scene.organization, client=SYSTEM
    )
    other_admin = person("admin.otra")
    register(other_admin, nit="9005148132", name="Otra entidad")
    for actor in (scene.member, scene.outsider, other_admin):
        with pytest.raises(MembershipRefused) as refused:
            decide(scene, request, "accept", actor=actor)
        assert refused.value.code == "not_administrator"
    request.refresh_from_db()
    assert request.state == P
    refusals = AuditEvent.objects.filter(event="membership.refused", outcome="refused")
    assert refusals.count() == 3
    assert notices_to(scene.outsider) == []


def test_or1_the_help_desk_decides_only_as_a_supervisor_and_with_a_reason(scene, supervisor):
    request = membership_request(
        user=scene.outsider, organization=scene.organization, client=SYSTEM
    )
    with pytest.raises(MembershipRefused) as refused:
        decide(scene, request, "accept", actor=supervisor, by=By.HELPDESK, reason=" ")
    assert refused.value.code == "no_reason"
    with pytest.raises(MembershipRefused):
        decide(scene, request, "accept", actor=scene.admin, by=By.HELPDESK, reason="x")
    with pytest.raises(MembershipRefused):  # not a transition the help desk makes
        decide(scene, request, "reject", actor=supervisor, by=By.HELPDESK, reason="x")
    decide(scene, request, "accept", actor=supervisor, by=By.HELPDESK, reason="Ticket 4711")
    notice = notices_to(scene.outsider)[-1]
    assert notice.context["by_helpdesk"] is True and notice.context["reason"] == "Ticket 4711"
    event = AuditEvent.objects.filter(
        event="membership.changed", details__action="accept", user=scene.outsider
    ).get()
    assert event.actor == f"agent:{supervisor.pk}" and event.details["reason"] == "Ticket 4711"


@pytest.mark.parametrize(
    ("path", "then"),
    [
        ([], ["revert_rejection", "accept"]),  # pending: what is not allowed from pending
        (["reject"], ["accept", "reject", "cancel"]),
        (["accept"], ["accept", "reject", "revert_rejection"]),
        (["cancel"], ["accept", "reject", "cancel", "revert_rejection"]),
    ],
)
def test_changes_outside_the_table_are_refused(scene, path, then):
    request = membership_request(
        user=scene.outsider, organization=scene.organization, client=SYSTEM
    )
    for action in path:
        decide(scene, request, action)
    state = Membership.objects.get(pk=request.pk).state
    for action in then:
        if allowed(action, source=state, by=By.ADMINISTRATOR):
            continue
        with pytest.raises(MembershipRefused) as refused:
            decide(scene, request, action)
        assert refused.value.code == "transition"
        assert Membership.objects.get(pk=request.pk).state == state


def test_a_person_asks_again_after_cancelled_but_not_after_rejected(scene):
    with pytest.raises(MembershipRefused):  # already accepted
        membership_request(user=scene.member, organization=scene.organization, client=SYSTEM)
    request = membership_request(
        user=scene.outsider, organization=scene.organization, client=SYSTEM
    )
    with pytest.raises(MembershipRefused):  # already pending
        membership_request(user=scene.outsider, organization=scene.organization, client=SYSTEM)
    decide(scene, request, "reject")
    with pytest.raises(MembershipRefused):
        membership_request(user=scene.outsider, organization=scene.organization, client=SYSTEM)
    member = Membership.objects.get(user=scene.member)
    decide(scene, member, "cancel")
    again = membership_request(user=scene.member, organization=scene.organization, client=SYSTEM)
    assert (again.pk, again.state, again.role) == (member.pk, P, Role.USER)


def test_or2_the_last_administrator_cannot_be_cancelled_or_demoted(scene):
    own = Membership.objects.get(user=scene.admin)
    with pytest.raises(MembershipRefused) as refused:
        decide(scene, own, "cancel")
    assert refused.value.code == "last_administrator"
    with pytest.raises(MembershipRefused):
        membership_set_role(actor=scene.admin, membership=own, role=Role.USER, client=SYSTEM)
    own.refresh_from_db()
    assert (own.role, own.state) == (Role.ADMINISTRATOR, A)


def test_or2_with_a_second_administrator_the_first_may_step_down(scene):
    member = Membership.objects.get(user=scene.member)
    assert membership_set_role(
        actor=scene.admin, membership=member, role=Role.ADMINISTRATOR, client=SYSTEM
    )
    own = Membership.objects.get(user=scene.admin)
    assert membership_set_role(actor=scene.admin, membership=own, role=Role.USER, client=SYSTEM)
    with pytest.raises(MembershipRefused):  # no longer an administrator: may not decide
        membership_set_role(actor=scene.admin, membership=member, role=Role.USER, client=SYSTEM)
    assert [
        e.context["role"] for e in notices_to(scene.member) if e.context["action"] == "role"
    ] == [Role.ADMINISTRATOR]


def test_or2_a_disabled_administrator_does_not_count(scene):
    member = Membership.objects.get(user=scene.member)
    membership_set_role(
        actor=scene.admin, membership=member, role=Role.ADMINISTRATOR, client=SYSTEM
    )
    user_set_active(user=scene.member, active=False)
    own = Membership.objects.get(user=scene.admin)
    with pytest.raises(MembershipRefused) as refused:
        membership_set_role(actor=scene.admin, membership=own, role=Role.USER, client=SYSTEM)
    assert refused.value.code == "last_administrator"
