"""The CSRF failure page, recorded like every other refusal (LG1)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core.client import ClientInfo
from portero.core.errors import error_page
from portero.core.log_redaction import redact


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Explain an expired or missing form token in plain words (never the technical reason);
    record it, with the signed-in person when there is one."""
    user = getattr(request, "user", None)
    event_record(
        EventType.CSRF_FAILED,
        outcome="refused",
        actor=f"user:{user.pk}" if user is not None and user.is_authenticated else "anonymous",
        user=user if user is not None and user.is_authenticated else None,
        subject=redact(request.path)[:96],
        client=ClientInfo.from_request(request),
        reason=reason,
    )
    detail = _(
        "The form expired or was opened in another window. Go back, reload the page and try again."
    )
    return error_page(request, 403, detail)
