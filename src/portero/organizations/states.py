"""The membership state machine: every allowed change in one table (docs/organizations.md).

A membership is Pendiente, Aceptado, Rechazado or Cancelado. The person asks (a request, or a
new one after Cancelado); an administrator of the organization, or the Mesa de Servicio with a
reason, decides (OR1). Rechazado is final for the person: only an administrator reverts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from portero.organizations.models import MembershipState

P, A, R, C = (
    MembershipState.PENDING,
    MembershipState.ACCEPTED,
    MembershipState.REJECTED,
    MembershipState.CANCELLED,
)


class By(StrEnum):
    """Who makes a change."""

    MEMBER = "member"  # the person the membership is about
    ADMINISTRATOR = "administrator"  # an accepted administrator of the organization
    HELPDESK = "helpdesk"  # a Mesa de Servicio supervisor, always with a reason
    IMPORT = "import"  # `portero importusers`, run by an operator
    SYSTEM = "system"  # registering an organization makes its creator administrator


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str | None]  # None: no membership yet
    target: MembershipState
    by: frozenset[By]


def _t(name: str, sources: set[str | None], target: MembershipState, *by: By) -> Transition:
    return Transition(name, frozenset(sources), target, frozenset(by))


TRANSITIONS = {
    t.name: t
    for t in [
        _t("request", {None, C}, P, By.MEMBER),
        _t("accept", {P}, A, By.ADMINISTRATOR, By.HELPDESK),
        _t("reject", {P}, R, By.ADMINISTRATOR),
        _t("cancel", {P, A}, C, By.ADMINISTRATOR, By.HELPDESK),
        _t("revert_rejection", {R}, P, By.ADMINISTRATOR),
        _t("register", {None}, A, By.SYSTEM),
        _t("import", {None, P, R, C}, A, By.IMPORT),
    ]
}


def allowed(name: str, *, source: str | None, by: By) -> bool:
    """True when `by` may make the change `name` from `source`."""
    transition = TRANSITIONS.get(name)
    return transition is not None and source in transition.sources and by in transition.by


def decisions_for(source: str, by: By) -> list[str]:
    """Return the changes `by` may make from `source`, in the table's order."""
    return [
        t.name
        for t in TRANSITIONS.values()
        if source in t.sources and by in t.by and t.name not in {"request", "register", "import"}
    ]
