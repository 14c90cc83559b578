"""OR2 under concurrency: two administrators removing each other at the same moment leave
one, on SQLite (one writer) and PostgreSQL (the organization's row lock)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from portero.organizations.models import Membership, MembershipState, Role
from portero.organizations.services import (
    MembershipRefused,
    membership_decide,
    membership_set_role,
)
from portero.organizations.states import By
from tests.organizations.conftest import SYSTEM, accepted, person, register

pytestmark = pytest.mark.django_db(transaction=True)


def two_administrators():  # type: ignore[no-untyped-def]
    first, second = person("admin.uno"), person("admin.dos")
    organization = register(first)
    membership_set_role(
        actor=first,
        membership=accepted(organization, second, first),
        role=Role.ADMINISTRATOR,
        client=SYSTEM,
    )
    return organization, first, second


def at_once(*calls: Callable[[], object]) -> tuple[list[object], list[BaseException]]:
    barrier = threading.Barrier(len(calls))
    results: list[object] = []
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(call())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def active_administrators(organization) -> int:  # type: ignore[no-untyped-def]
    return Membership.objects.filter(
        organization=organization, role=Role.ADMINISTRATOR, state=MembershipState.ACCEPTED
    ).count()


@pytest.mark.parametrize("attempt", range(3))
def test_or2_two_administrators_demoting_each_other_at_once_leave_one(attempt):
    organization, first, second = two_administrators()
    mine, theirs = (Membership.objects.get(user=u) for u in (first, second))
    results, errors = at_once(
        lambda: membership_set_role(actor=first, membership=theirs, role=Role.USER, client=SYSTEM),
        lambda: membership_set_role(actor=second, membership=mine, role=Role.USER, client=SYSTEM),
    )
    assert results == [True] and len(errors) == 1
    assert isinstance(errors[0], MembershipRefused)
    assert active_administrators(organization) == 1


def test_or2_two_administrators_cancelling_each_other_at_once_leave_one():
    organization, first, second = two_administrators()
    mine, theirs = (Membership.objects.get(user=u) for u in (first, second))
    results, errors = at_once(
        lambda: membership_decide(
            actor=first, membership=theirs, action="cancel", by=By.ADMINISTRATOR, client=SYSTEM
        ),
        lambda: membership_decide(
            actor=second, membership=mine, action="cancel", by=By.ADMINISTRATOR, client=SYSTEM
        ),
    )
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], MembershipRefused)
    assert active_administrators(organization) == 1


def test_or2_both_administrators_stepping_down_at_once_leave_one():
    organization, first, second = two_administrators()
    mine, theirs = (Membership.objects.get(user=u) for u in (first, second))
    results, errors = at_once(
        lambda: membership_set_role(actor=first, membership=mine, role=Role.USER, client=SYSTEM),
        lambda: membership_set_role(actor=second, membership=theirs, role=Role.USER, client=SYSTEM),
    )
    assert results == [True] and [type(e) for e in errors] == [MembershipRefused]
    assert active_administrators(organization) == 1
