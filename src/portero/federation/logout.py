"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): ending a Portero session ends
it at every portal that got tokens in it (OI6).

django-oauth-toolkit has no back-channel logout, so this is Portero's own. It works like the
mail outbox (STYLE habit 9): the transaction that ends a session revokes that session's tokens
and inserts one `LogoutDelivery` per portal; the worker signs and POSTs the logout tokens with
retries and backoff, and every outcome is recorded where the help desk sees it.
"""

from __future__ import annotations

import logging
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock
from portero.core.write_lock import write_transaction
from portero.federation import tokens
from portero.federation.claims import subject_of
from portero.federation.models import Authorization, DeliveryStatus, LogoutDelivery
from portero.mail.delivery import retry_delay

log = logging.getLogger(__name__)

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_SECONDS = 120  # a logout token is used at once; it need not live long
RESPONSE_BODY_MAX = 200  # of a portal's error reply, kept for the help desk


def sessions_ended_everywhere(
    sender: Any, *, user_id: int, sids: list[str], reason: str, **kwargs: Any
) -> None:
    """`accounts.signals.sessions_ended` receiver: revoke and queue, in the caller's
    transaction, for every portal that got tokens in these sessions."""
    if sids:
        logouts_queue(user_id=user_id, sids=sids, reason=reason)


def logouts_queue(
    *, user_id: int, sids: list[str], reason: str, application_id: int | None = None
) -> int:
    """Revoke the tokens of these sessions (of one portal, if given) and queue a logout token
    for each portal with a back-channel address; return how many were queued."""
    now = clock.now()
    live = Authorization.objects.filter(
        user_id=user_id, sid__in=sids, session_ended_at__isnull=True
    )
    if application_id is not None:
        live = live.filter(application_id=application_id)
    authorizations = list(live.select_related("application__portero_profile", "user"))
    for authorization in authorizations:
        tokens.family_revoke(authorization.token_family)
    live.update(session_ended_at=now)
    targets = {(a.application_id, a.sid): a for a in authorizations if a.used_at is not None}
    queued = []
    for authorization in targets.values():
        profile = getattr(authorization.application, "portero_profile", None)
        if profile is None or not profile.backchannel_logout_uri:
            continue
        queued.append(
            LogoutDelivery(
                application=authorization.application,
                user=authorization.user,
                sub=subject_of(authorization.user),
                sid=authorization.sid,
                uri=profile.backchannel_logout_uri,
                reason=reason,
                created_at=now,
                next_attempt_at=now,
                give_up_at=now + timedelta(hours=settings.PORTERO_LOGOUT_RETRY_WINDOW_HOURS),
            )
        )
    LogoutDelivery.objects.bulk_create(queued)
    return len(queued)


def logout_token(delivery: LogoutDelivery) -> str:
    """Return the signed logout token for `delivery` (iss, aud, iat, exp, jti, sub, sid,
    events; never a nonce)."""
    now = int(clock.now().timestamp())
    return tokens.sign(
        {
            "iss": settings.PORTERO_BASE_URL,
            "aud": delivery.application.client_id,
            "iat": now,
            "exp": now + LOGOUT_TOKEN_SECONDS,
            "jti": secrets.token_urlsafe(16),
            "sub": delivery.sub,
            "sid": delivery.sid,
            "events": {BACKCHANNEL_EVENT: {}},
        },
        typ="logout+jwt",
    )


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    transient: bool
    reason: str


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET without the token, elsewhere: refuse it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)
# Portals are told in parallel, each attempt bounded as a whole: a slow or hostile endpoint
# (one that trickles its answer) costs one thread for a while, never the worker's loop.
_SENDERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="portero-logout")


def logout_post(delivery: LogoutDelivery, token: str) -> Attempt:
    """POST the logout token to the portal; say whether it took, or may take later."""
    body = urllib.parse.urlencode({"logout_token": token}).encode()
    request = urllib.request.Request(  # noqa: S310  (the registered https/loopback address)
        delivery.uri,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-store"},
    )
    try:
        with _OPENER.open(request, timeout=settings.PORTERO_LOGOUT_TIMEOUT_SECONDS) as response:
            if response.status in (200, 204):
                return Attempt(True, False, f"{response.status}")
            return Attempt(False, False, f"HTTP {response.status}: not 200 OK")
    except urllib.error.HTTPError as error:
        text = _body(error)
        # 5xx and 429 may pass later; a redirect or any other refusal (400: the portal rejects
        # the token) will not, and retrying would only repeat it.
        transient = error.code >= 500 or error.code == 429
        return Attempt(False, transient, f"HTTP {error.code} {text}".strip()[:500])
    except Exception as error:  # refused, unreachable, timed out, garbage: try again later
        return Attempt(False, True, f"{type(error).__name__}: {error}"[:500])


def _body(error: urllib.error.HTTPError) -> str:
    try:
        return error.read(RESPONSE_BODY_MAX).decode("utf-8", "replace")
    except Exception:  # a reply cut short says nothing more
        return ""


def logouts_claim_due(*, limit: int) -> list[LogoutDelivery]:
    """Take up to `limit` due deliveries, each with a lease (as for e-mail)."""
    now = clock.now()
    waiting = Q(
        status__in=[DeliveryStatus.QUEUED, DeliveryStatus.RETRYING], next_attempt_at__lte=now
    )
    abandoned = Q(status=DeliveryStatus.SENDING, lease_until__lt=now)
    # An idle round opens no transaction: on SQLite it would take the write lock every round.
    if not LogoutDelivery.objects.filter(waiting | abandoned).exists():
        return []
    with write_transaction("logout_claim"):
        return _claim(now, waiting | abandoned, limit)


def _claim(now: datetime, due_rows: Q, limit: int) -> list[LogoutDelivery]:
    lease_until = now + timedelta(seconds=settings.PORTERO_MAIL_LEASE_SECONDS)
    due = list(
        LogoutDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("application", "user")
        .filter(due_rows)
        .order_by("next_attempt_at", "pk")[:limit]
    )
    LogoutDelivery.objects.filter(pk__in=[d.pk for d in due]).update(
        status=DeliveryStatus.SENDING, lease_until=lease_until, attempts=F("attempts") + 1
    )
    for delivery in due:
        delivery.status, delivery.lease_until = DeliveryStatus.SENDING, lease_until
        delivery.attempts += 1
    return due


@transaction.atomic
def logout_record(delivery: LogoutDelivery, attempt: Attempt) -> DeliveryStatus:
    """Record what happened to one delivery, with its audit event (unless another worker
    took the delivery over meanwhile)."""
    now, next_attempt = clock.now(), clock.now() + retry_delay(delivery.attempts)
    changes: dict[str, Any] = {"last_error": "" if attempt.delivered else attempt.reason}
    if attempt.delivered:
        status, event = DeliveryStatus.SENT, EventType.LOGOUT_DELIVERED
        changes["sent_at"] = now
    elif attempt.transient and next_attempt < delivery.give_up_at:
        status, event = DeliveryStatus.RETRYING, EventType.LOGOUT_RETRYING
        changes["next_attempt_at"] = next_attempt
    else:
        status, event = DeliveryStatus.FAILED, EventType.LOGOUT_FAILED
    if LogoutDelivery.objects.filter(pk=delivery.pk, lease_until=delivery.lease_until).update(
        status=status, lease_until=None, **changes
    ):
        event_record(
            event,
            outcome=status,
            user=delivery.user,
            subject=f"logout:{delivery.pk}",
            client_name=delivery.application.name,
            attempts=delivery.attempts,
            reply=attempt.reason,
        )
    return status


def logouts_deliver_due(*, limit: int = 20) -> int:
    """Deliver every due logout token (up to `limit`) in parallel, each attempt bounded as a
    whole; return how many were tried."""
    due = logouts_claim_due(limit=limit)
    # Signed here, not in the threads: the sending threads touch no database.
    sending = {
        delivery.pk: _SENDERS.submit(logout_post, delivery, logout_token(delivery))
        for delivery in due
    }
    deadline = time.monotonic() + 2 * settings.PORTERO_LOGOUT_TIMEOUT_SECONDS
    for delivery in due:
        try:
            attempt = sending[delivery.pk].result(timeout=max(deadline - time.monotonic(), 0))
        except FutureTimeout:
            sending[delivery.pk].cancel()  # not started yet: it waits for its next attempt
            attempt = Attempt(False, True, "no complete answer in time")
        if not attempt.delivered:
            log.warning(
                "back-channel logout %s to %s failed (attempt %s): %s",
                delivery.pk,
                delivery.application.name,
                delivery.attempts,
                attempt.reason,
            )
        logout_record(delivery, attempt)
    return len(due)


def logout_requeue(*, delivery: LogoutDelivery) -> bool:
    """Try a failed or retrying delivery again now (the help desk's button)."""
    now = clock.now()
    return bool(
        LogoutDelivery.objects.filter(
            pk=delivery.pk, status__in=[DeliveryStatus.FAILED, DeliveryStatus.RETRYING]
        ).update(
            status=DeliveryStatus.QUEUED,
            next_attempt_at=now,
            lease_until=None,
            give_up_at=now + timedelta(hours=settings.PORTERO_LOGOUT_RETRY_WINDOW_HOURS),
        )
    )
