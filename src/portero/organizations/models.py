"""SECOP accounts: organizations (entities and suppliers), who acts for them, and for which
one each signed-in session acts."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portero.core import clock
from portero.organizations.nit import nit_display


class OrganizationKind(models.TextChoices):
    ENTITY = "entidad", _("Public entity")
    SUPPLIER = "proveedor", _("Supplier")


class OrganizationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")


class Organization(models.Model):
    """A SECOP account: a public entity or a supplier, one per NIT and kind."""

    # What portals get as the organization's `id`: random, never the database id (as `sub`).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=OrganizationKind.choices)
    name = models.CharField(_("name"), max_length=200)
    nit = models.CharField(_("NIT"), max_length=16)  # digits, check digit last (nit.py)
    city = models.CharField(_("city"), max_length=100, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=OrganizationStatus.choices,
        default=OrganizationStatus.ACTIVE,
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        constraints = [
            models.UniqueConstraint(
                fields=["nit", "kind"], name="organizations_one_per_nit_and_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.nit_display})"

    @property
    def nit_display(self) -> str:
        return nit_display(self.nit)


class Role(models.TextChoices):
    ADMINISTRATOR = "administrador", _("Administrator")
    USER = "usuario", _("User")


class MembershipState(models.TextChoices):
    PENDING = "pendiente", _("Pending")
    ACCEPTED = "aceptado", _("Accepted")
    REJECTED = "rechazado", _("Rejected")
    CANCELLED = "cancelado", _("Cancelled")


class Membership(models.Model):
    """A person acting for an organization, or asking to. Changed only through
    `organizations.services` (the transitions in `states.py`), each change recorded."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.USER)
    state = models.CharField(_("state"), max_length=16, choices=MembershipState.choices)
    created_at = models.DateTimeField(default=clock.now)
    # The last change: who made it (an administrator, the Mesa de Servicio, the person), when
    # and why. The whole story is in MembershipChange.
    changed_at = models.DateTimeField(default=clock.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    change_reason = models.CharField(max_length=200, blank=True)
    # When the person last chose to act for it: the company selector lists it first.
    last_chosen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="organizations_one_membership"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "state"], name="organizations_members_by_state")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organization_id}: {self.role} {self.state}"


class MembershipChange(models.Model):
    """One entry of a membership's history: every request, decision and role change."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(max_length=24)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    role = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by = models.CharField(max_length=16)  # member, administrator, helpdesk, import, system
    reason = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"{self.membership_id}: {self.action} {self.from_state}->{self.to_state}"


class ActingFor(models.Model):
    """Which organization a signed-in session acts for (OR3), by the session's name to the
    portals (`sid`), so that the token endpoint, which has no browser session, can read it."""

    sid = models.CharField(max_length=43, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="sessions")
    chosen_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"{self.sid[:6]}… -> {self.membership_id}"
