"""Organizations, their administrators and members, built through the services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from portero.accounts.models import User
from portero.accounts.services import user_create, user_grant_role
from portero.core.client import ClientInfo
from portero.organizations.models import Membership, Organization
from portero.organizations.services import (
    membership_decide,
    membership_request,
    organization_register,
)
from portero.organizations.states import By
from tests.conftest import PASSWORD
from tests.federation.conftest import local_portal, receiver  # noqa: F401  (fixtures used here)

__all__ = ["PASSWORD"]

# Real NITs with their check digits (DIAN and Colombia Compra Eficiente).
NIT_A, NIT_A_SHOWN = "8001972684", "800.197.268-4"
NIT_B, NIT_B_SHOWN = "9005148132", "900.514.813-2"
SYSTEM = ClientInfo.system()


def person(
    name: str, *, language: str = "es-co", email: str = "", password: str | None = None
) -> User:
    """An account; without a password unless it must sign in (hashing is slow on purpose)."""
    return user_create(
        username=name,
        email=email or f"{name}@example.com",
        full_name=name.replace(".", " ").title(),
        language=language,
        password=password,
    )


def reads_spanish(user: User) -> User:
    """Make `user`, whom the scene gives English (for e-mails), choose Spanish: signed-in
    pages follow the account's language."""
    user.language = "es-co"
    user.save(update_fields=["language"])
    return user


def register(
    admin: User, *, nit: str = NIT_A, name: str = "Alcaldía de Prueba", kind: str = "entidad"
) -> Organization:
    membership = organization_register(
        user=admin, kind=kind, name=name, nit=nit, city="Bogotá D.C.", client=SYSTEM
    )
    return membership.organization


def accepted(organization: Organization, member: User, admin: User) -> Membership:
    """Make `member` an accepted user of `organization` the normal way: request, accept."""
    request = membership_request(user=member, organization=organization, client=SYSTEM)
    return membership_decide(
        actor=admin, membership=request, action="accept", by=By.ADMINISTRATOR, client=SYSTEM
    )


@dataclass
class Scene:
    admin: User
    member: User
    outsider: User
    organization: Organization


@pytest.fixture
def scene(db: None) -> Scene:
    """An entity with its administrator, one accepted member, and an outsider."""
    tag = uuid.uuid4().hex[:6]
    admin, member = person(f"admin.{tag}"), person(f"miembro.{tag}", language="en")
    outsider = person(f"ajeno.{tag}")
    organization = register(admin)
    accepted(organization, member, admin)
    return Scene(admin, member, outsider, organization)


@pytest.fixture
def supervisor(db: None) -> User:
    agent = user_create(
        username="mesa.supervisora", email="mesa@example.com", password=PASSWORD, is_staff=True
    )
    user_grant_role(user=agent, role="supervisor")
    return agent
