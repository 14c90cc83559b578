"""The `organizacion` claim: the organization a Portero session acts for (OR3)."""

from __future__ import annotations

from typing import Any

from portero.organizations.nit import nit_compact
from portero.organizations.selectors import acting_for

SCOPE = CLAIM = "organizacion"


def organization_claim(sid: str) -> dict[str, Any] | None:
    """Return the claim for the session named `sid`, or None when it acts for nobody.

    Read when the token is issued: a switch ends every authorization of the session first
    (services.acting_for_choose), so a live code or refresh token always has this choice.
    """
    membership = acting_for(sid)
    if membership is None:
        return None
    organization = membership.organization
    return {
        "id": str(organization.public_id),
        "nit": nit_compact(organization.nit),
        "name": organization.name,
        "kind": organization.kind,
        "role": membership.role,
    }
