"""Read-only queries for the console. Nothing here returns a selector, token or code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connections
from django.db.models import Q, QuerySet

from portero.accounts.models import User
from portero.accounts.rules import normalize_email, normalize_username
from portero.accounts.throttle import ThrottleState, throttle_state
from portero.core import clock
from portero.factors.models import AssistedRecovery, AssistedRecoveryState
from portero.federation.models import DeliveryStatus, LogoutDelivery
from portero.mail.models import EmailStatus, OutboundEmail
from portero.recovery.models import RecoveryRequest
from portero.recovery.states import LinkState, reset_state

SEARCH_MIN = 2
SEARCH_LIMIT = 25  # accounts listed at most; beyond that the agent narrows the search
_LISTED = ("username", "email", "full_name", "is_active")  # what the result list shows


@dataclass(frozen=True)
class SearchResult:
    accounts: list[User]
    more: bool  # more accounts match than are listed
    limit: int


def users_search(query: str, *, limit: int = SEARCH_LIMIT) -> SearchResult:
    """Up to `limit` accounts whose username, e-mail or full name contains `query`, ignoring
    case: exact matches of the username or e-mail first, then usernames that start with it,
    then the others, by username.

    It never counts nor sorts all the matches, so a common fragment costs about as much as a
    rare one: it reads the exact matches and at most `limit` + 1 others. When more match,
    which of them are listed (besides the exact matches) is arbitrary, and `more` tells the
    agent to narrow the search.
    """
    needle = normalize_username(query)  # addresses compare the same way (rules)
    exact = list(
        User.objects.only(*_LISTED)
        .filter(Q(username__lower=needle) | Q(email__lower=needle))
        .order_by("pk")[:limit]
    )
    found = _some_containing(needle, limit + 1)
    accounts = {account.pk: account for account in [*exact, *found]}

    def rank(account: User) -> tuple[int, str, int]:
        username = normalize_username(account.username)
        if needle in (username, normalize_email(account.email)):
            return 0, username, account.pk
        return (1 if username.startswith(needle) else 2), username, account.pk

    return SearchResult(sorted(accounts.values(), key=rank)[:limit], len(found) > limit, limit)


def _some_containing(needle: str, count: int) -> list[User]:
    """Up to `count` accounts containing `needle`: by username, then by e-mail, then by name.

    Each column is searched in its own fenced CTE, planned for full retrieval, so PostgreSQL
    uses the trigram indexes even though only `count` rows are wanted (a LIMIT seen by the
    planner can make it choose a sequential scan, which reads the whole table when the
    fragment turns out to be rare). The rows are fetched on demand and each branch excludes
    the previous ones, so reading stops after `count` distinct accounts and a column is not
    searched at all once the previous ones gave enough.
    """
    username = Q(username__lower__contains=needle)
    email = Q(email__lower__contains=needle)
    name = Q(full_name__lower__contains=needle)
    listed = User.objects.only(*_LISTED)
    branches = [
        listed.filter(username),
        listed.filter(email & ~username),
        listed.filter(name & ~username & ~email),
    ]
    db = branches[0].db
    fence = "MATERIALIZED " if connections[db].vendor == "postgresql" else ""
    ctes, selects, params = [], [], []
    for number, branch in enumerate(branches):
        sql, branch_params = branch.query.get_compiler(using=db).as_sql()
        ctes.append(f"m{number} AS {fence}({sql})")
        selects.append(f"SELECT * FROM m{number}")  # noqa: S608 (compiled ORM queries)
        params.extend(branch_params)
    sql = f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)} LIMIT %s"
    return list(User.objects.using(db).raw(sql, [*params, count]))


@dataclass(frozen=True)
class EmailRow:
    email: OutboundEmail
    link_state: LinkState | None  # for messages that carry a recovery link


@dataclass(frozen=True)
class Overview:
    user: User
    throttle: ThrottleState
    requests: list[RecoveryRequest]
    emails: list[EmailRow]
    logouts: list[LogoutDelivery]  # sign-outs sent to portals (back-channel logout)
    now: datetime
    assisted: list[AssistedRecovery] = field(default_factory=list)  # newest first (MF4)

    @property
    def assisted_pending(self) -> AssistedRecovery | None:
        return next((r for r in self.assisted if r.state == AssistedRecoveryState.PENDING), None)


def user_overview(user: User, *, limit: int = 20) -> Overview:
    """Return what the console shows about `user`: status, recent requests and messages."""
    now = clock.now()
    emails = (
        OutboundEmail.objects.filter(user=user)
        .select_related("reset__user")
        .order_by("-created_at", "-pk")[:limit]
    )
    rows = [EmailRow(e, reset_state(e.reset, now) if e.reset else None) for e in emails]
    requests = list(RecoveryRequest.objects.filter(user=user).order_by("-created_at")[:limit])
    logouts = list(
        LogoutDelivery.objects.filter(user=user)
        .select_related("application")
        .order_by("-created_at", "-pk")[:limit]
    )
    assisted = list(AssistedRecovery.objects.filter(user=user).select_related("started_by")[:limit])
    return Overview(user, throttle_state(user.username), requests, rows, logouts, now, assisted)


def emails_needing_attention() -> QuerySet[OutboundEmail]:
    """Failed and retrying messages across all accounts, oldest first."""
    return (
        OutboundEmail.objects.filter(status__in=[EmailStatus.FAILED, EmailStatus.RETRYING])
        .select_related("user", "reset")
        .order_by("created_at")
    )


def logouts_needing_attention() -> QuerySet[LogoutDelivery]:
    """Failed and retrying back-channel logouts across all accounts, oldest first."""
    return (
        LogoutDelivery.objects.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.RETRYING])
        .select_related("user", "application")
        .order_by("created_at")
    )


def assisted_recoveries_pending() -> QuerySet[AssistedRecovery]:
    """Assisted recoveries still waiting, across all accounts, the soonest due first (MF4)."""
    return (
        AssistedRecovery.objects.filter(state=AssistedRecoveryState.PENDING)
        .select_related("user", "started_by")
        .order_by("due_at", "pk")
    )
