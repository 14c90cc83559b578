"""The Mesa de Servicio console: thin adapters over selectors and services."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portero.accounts.models import User
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core.client import ClientInfo
from portero.core.context import helpdesk_name
from portero.factors import assisted
from portero.factors import flows as factor_flows
from portero.factors.selectors import has_factor
from portero.helpdesk.forms import (
    ActionForm,
    AssistedCancelForm,
    AssistedStartForm,
    ResendForm,
    SearchForm,
)
from portero.helpdesk.roles import Role, rank_of, role_of
from portero.helpdesk.selectors import (
    assisted_recoveries_pending,
    emails_needing_attention,
    logouts_needing_attention,
    user_overview,
    users_search,
)
from portero.helpdesk.services import (
    ACCOUNT_ACTIONS,
    ActionRefused,
    allowed_actions,
    helpdesk_act,
    helpdesk_logout_resend,
    helpdesk_refusal_record,
    helpdesk_resend,
    helpdesk_search_record,
)
from portero.organizations.selectors import organizations_search_console

PAGE_SIZE = 25


def console(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in staff with a console role only; everyone else gets our 403 page."""

    @login_required
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not isinstance(request.user, User) or role_of(request.user) < Role.AGENT:
            if isinstance(request.user, User):  # signed in, no console role: recorded (LG1)
                helpdesk_refusal_record(
                    agent=request.user,
                    target=None,
                    action=request.path,
                    why="no console role",
                    client=ClientInfo.from_request(request),
                )
            raise PermissionDenied
        if settings.PORTERO_MFA_REQUIRED != "off":  # MF6: the console needs a second factor
            if not has_factor(request.user):
                messages.info(
                    request,
                    _(
                        "The %(helpdesk)s console needs two-step verification. "
                        "Set up a second factor to open it."
                    )
                    % {"helpdesk": helpdesk_name()},
                )
                return redirect("factors:security")
            if not factor_flows.session_has_second_factor(request):
                factor_flows.step_up_begin(
                    request,
                    destination=request.get_full_path()
                    if request.method in ("GET", "HEAD")
                    else reverse("helpdesk:search"),
                )
                return redirect("factors:second_step")
        return view(request, *args, **kwargs)

    return guarded


@console
@require_http_methods(["GET", "HEAD"])
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET if "q" in request.GET else None)
    result = users_search(form.cleaned_data["q"]) if form.is_valid() else None
    organizations, more_organizations = (
        organizations_search_console(form.cleaned_data["q"]) if result is not None else ([], False)
    )
    if result is not None:
        agent = request.user
        assert isinstance(agent, User)
        # A read, recorded on purpose: what the help desk looks up is a help-desk action (LG1).
        helpdesk_search_record(
            agent=agent,
            query=form.cleaned_data["q"],
            found=len(result.accounts),
            client=ClientInfo.from_request(request),
            organizations=len(organizations),
        )
    # One reverse() for the list instead of one per row: each costs about 60 µs, as much as
    # the search itself once the list is full.
    prefix = reverse("helpdesk:user", args=[0]).removesuffix("0/")
    rows = [(account, f"{prefix}{account.pk}/") for account in result.accounts] if result else []
    return render(
        request,
        "helpdesk/search.html",
        {
            "form": form,
            "result": result,
            "rows": rows,
            "organizations": organizations,
            "more_organizations": more_organizations,
        },
    )


@console
@require_http_methods(["GET", "HEAD"])
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(User, pk=pk)
    agent = request.user
    assert isinstance(agent, User)
    # A read, recorded on purpose: who opened whose account is a help-desk action (LG1).
    event_record(
        EventType.HELPDESK_USER_VIEWED,
        user=target,
        actor=f"agent:{agent.pk}",
        client=ClientInfo.from_request(request),
        subject=f"user:{target.pk}",
    )
    actions = [
        (action, ActionForm(initial={"action": action.name, "token": secrets.token_urlsafe(24)}))
        for action in allowed_actions(agent, target)
    ]
    return render(
        request,
        "helpdesk/user.html",
        {
            "overview": user_overview(target),
            "actions": actions,
            "role": rank_of(target),
            "may_assist": assisted.may_start(agent, target),
            "has_factor": has_factor(target),
            "assisted_start_form": AssistedStartForm(),
            "assisted_cancel_form": AssistedCancelForm(),
            "assisted_hours": settings.PORTERO_ASSISTED_RECOVERY_HOURS,
        },
    )


@console
@require_POST
def act(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(User, pk=pk)
    agent = request.user
    assert isinstance(agent, User)
    form = ActionForm(request.POST)
    client = ClientInfo.from_request(request)
    if not form.is_valid():
        asked = str(request.POST.get("action", ""))
        helpdesk_refusal_record(
            agent=agent,
            target=target,
            client=client,
            action=asked if asked in ACCOUNT_ACTIONS else "(unknown)",
            why="invalid form",
        )
        messages.error(request, _("Write the reason or the ticket number."))
        return redirect("helpdesk:user", pk=pk)
    try:
        done = helpdesk_act(agent=agent, target=target, client=client, **form.cleaned_data)
    except ActionRefused as refusal:
        helpdesk_refusal_record(
            agent=agent,
            target=target,
            client=client,
            action=form.cleaned_data["action"],
            why=str(refusal),
        )
        messages.error(request, str(refusal))
        return redirect("helpdesk:user", pk=pk)
    if done:
        messages.success(request, str(ACCOUNT_ACTIONS[form.cleaned_data["action"]].done))
    else:
        messages.info(request, _("That action had already been done (the form was sent twice)."))
    return redirect("helpdesk:user", pk=pk)


@console
@require_http_methods(["GET", "HEAD", "POST"])
def queue(request: HttpRequest) -> HttpResponse:
    form = ResendForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        agent = request.user
        assert isinstance(agent, User)
        try:
            done, skipped = helpdesk_resend(
                agent=agent,
                email_ids=[e.pk for e in form.cleaned_data["emails"]],
                reason=form.cleaned_data["reason"],
                client=ClientInfo.from_request(request),
            )
        except ActionRefused as refusal:
            helpdesk_refusal_record(
                agent=agent,
                target=None,
                action="resend",
                why=str(refusal),
                client=ClientInfo.from_request(request),
            )
            messages.error(request, str(refusal))
            return redirect("helpdesk:queue")
        messages.success(
            request, _("%(count)d message(s) will be sent again now.") % {"count": done}
        )
        for reason in skipped:
            messages.warning(request, reason)
        return redirect("helpdesk:queue")
    page = Paginator(emails_needing_attention(), PAGE_SIZE).get_page(request.GET.get("pagina"))
    return render(
        request,
        "helpdesk/queue.html",
        {
            "page": page,
            "form": form,
            "logouts": logouts_needing_attention()[:PAGE_SIZE],
            "assisted": assisted_recoveries_pending()[:PAGE_SIZE],
        },
    )


@console
@require_POST
def logout_resend(request: HttpRequest, pk: int, delivery: int) -> HttpResponse:
    """Send a portal the sign-out it did not take, again, now."""
    target = get_object_or_404(User, pk=pk)
    agent = request.user
    assert isinstance(agent, User)
    try:
        done = helpdesk_logout_resend(
            agent=agent,
            target=target,
            delivery_id=delivery,
            reason=request.POST.get("reason", ""),
            client=ClientInfo.from_request(request),
        )
    except ActionRefused as refusal:
        helpdesk_refusal_record(
            agent=agent,
            target=target,
            action="logout_resend",
            why=str(refusal),
            client=ClientInfo.from_request(request),
        )
        messages.error(request, str(refusal))
        return redirect("helpdesk:user", pk=pk)
    if done:
        messages.success(request, _("The sign-out will be sent to the portal again now."))
    else:
        messages.info(request, _("That sign-out no longer needs sending."))
    return redirect("helpdesk:user", pk=pk)


@console
@require_POST
def assisted_start(request: HttpRequest, pk: int) -> HttpResponse:
    """A supervisor starts an assisted recovery (MF4): the owner is told at once."""
    target = get_object_or_404(User, pk=pk)
    agent = request.user
    assert isinstance(agent, User)
    client = ClientInfo.from_request(request)
    try:
        assisted.assisted_recovery_start(
            agent=agent, target=target, client=client, reason=request.POST.get("reason", "")
        )
    except assisted.AssistedRefused as refusal:
        helpdesk_refusal_record(
            agent=agent, target=target, action="assisted_start", why=str(refusal), client=client
        )
        messages.error(request, str(refusal))
        return redirect("helpdesk:user", pk=pk)
    messages.success(
        request,
        _(
            "The assisted recovery was started and the account's address "
            "was told. The factors will be removed in %(hours)d hours "
            "unless it is cancelled."
        )
        % {"hours": settings.PORTERO_ASSISTED_RECOVERY_HOURS},
    )
    return redirect("helpdesk:user", pk=pk)


@console
@require_POST
def assisted_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """A supervisor cancels a waiting assisted recovery."""
    target = get_object_or_404(User, pk=pk)
    agent = request.user
    assert isinstance(agent, User)
    client = ClientInfo.from_request(request)
    try:
        done = assisted.assisted_recovery_cancel(
            agent=agent, target=target, client=client, reason=request.POST.get("reason", "")
        )
    except assisted.AssistedRefused as refusal:
        helpdesk_refusal_record(
            agent=agent, target=target, action="assisted_cancel", why=str(refusal), client=client
        )
        messages.error(request, str(refusal))
        return redirect("helpdesk:user", pk=pk)
    if done:
        messages.success(request, _("The assisted recovery was cancelled."))
    else:
        messages.info(
            request,
            _("No assisted recovery was waiting: it had already been cancelled or completed."),
        )
    return redirect("helpdesk:user", pk=pk)
