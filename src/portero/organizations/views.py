"""HTTP adapters of "Mi cuenta > Mis organizaciones" and the company selector."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portero.accounts import steps
from portero.accounts.flows import session_sid
from portero.accounts.models import User
from portero.core import ratelimit
from portero.core.client import ClientInfo
from portero.core.client_ip import client_ip
from portero.organizations import flows, selectors
from portero.organizations.forms import (
    ChooseForm,
    DecisionForm,
    RegisterForm,
    RoleForm,
    SearchForm,
)
from portero.organizations.models import MembershipState, Organization
from portero.organizations.services import MembershipRefused, OrganizationExists
from portero.organizations.states import By, decisions_for

View = Callable[..., HttpResponse]


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def administrators_only(view: View) -> View:
    """The organization's accepted administrators only; anyone else gets the same 404 as for
    an organization that does not exist (OR4)."""

    @login_required
    @wraps(view)
    def guarded(request: HttpRequest, pk: int, *args: Any, **kwargs: Any) -> HttpResponse:
        organization = selectors.administered(_person(request), pk)
        if organization is None:
            raise Http404
        return view(request, organization, *args, **kwargs)

    return guarded


@login_required
@require_http_methods(["GET", "HEAD"])
def organizations_list(request: HttpRequest) -> HttpResponse:
    user = _person(request)
    acting = selectors.acting_for(session_sid(request))
    return render(
        request,
        "organizations/list.html",
        {
            "memberships": selectors.memberships_of(user),
            "acting": acting,
            "can_switch": len(selectors.choices_of(user)) > 1
            or (acting is None and selectors.choices_of(user)),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            membership = flows.register_organization(
                user=_person(request),
                client=ClientInfo.from_request(request),
                sid=session_sid(request),
                **form.cleaned_data,
            )
        except OrganizationExists:
            form.add_error(
                "nit",
                _(
                    "This organization is already registered. Ask its "
                    "administrators for access with “Request access”."
                ),
            )
        else:
            messages.success(
                request,
                _("%(name)s was registered. You are its administrator.")
                % {"name": membership.organization.name},
            )
            return redirect("organizations:list")
    return render(request, "organizations/register.html", {"form": form})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def request_access(request: HttpRequest) -> HttpResponse:
    user = _person(request)
    if request.method == "POST":
        chosen = ChooseForm({"membership": request.POST.get("organization")})
        if chosen.is_valid():
            try:
                membership = flows.ask_access(
                    user=user,
                    client=ClientInfo.from_request(request),
                    organization_id=chosen.cleaned_data["membership"],
                )
            except MembershipRefused as refusal:
                messages.error(request, str(refusal))
                return redirect("organizations:list")
            if membership is not None:
                messages.success(
                    request,
                    _(
                        "Your request to act for %(name)s was sent to its "
                        "administrators. We will e-mail you their answer."
                    )
                    % {"name": membership.organization.name},
                )
                return redirect("organizations:list")
        raise Http404
    form = SearchForm(request.GET if "q" in request.GET else None)
    found = None
    if form.is_valid():
        # OR4: a short search, and not so many of them that the directory can be listed.
        if ratelimit.hit("org_search", account=f"user:{user.pk}", ip=client_ip(request)):
            form.add_error("q", _("Too many searches. Wait a few minutes and try again."))
        else:
            found = selectors.organizations_find(form.cleaned_data["q"])
    mine = set(selectors.memberships_of(user).values_list("organization_id", flat=True))
    return render(
        request, "organizations/request.html", {"form": form, "found": found, "mine": mine}
    )


@administrators_only
@require_http_methods(["GET", "HEAD"])
def requests_page(request: HttpRequest, organization: Organization) -> HttpResponse:
    pending = selectors.members_of(organization, MembershipState.PENDING)
    rejected = selectors.members_of(organization, MembershipState.REJECTED)
    return render(
        request,
        "organizations/requests.html",
        {
            "organization": organization,
            "pending": pending,
            "rejected": rejected,
            "form": DecisionForm(),
        },
    )


@administrators_only
@require_http_methods(["GET", "HEAD"])
def members_page(request: HttpRequest, organization: Organization) -> HttpResponse:
    members = selectors.members_of(organization, MembershipState.ACCEPTED)
    return render(
        request,
        "organizations/members.html",
        {
            "organization": organization,
            "members": members,
            "history": selectors.history_of(organization, limit=30),
            "cancellable": decisions_for(MembershipState.ACCEPTED, By.ADMINISTRATOR),
        },
    )


@administrators_only
@require_POST
def decide(request: HttpRequest, organization: Organization, membership: int) -> HttpResponse:
    form = DecisionForm(request.POST)
    back = request.POST.get("back") == "members"
    if not form.is_valid():
        messages.error(request, _("The reason holds characters that cannot be kept."))
    else:
        try:
            done = flows.decide(
                user=_person(request),
                client=ClientInfo.from_request(request),
                organization=organization,
                membership_id=membership,
                **form.cleaned_data,
            )
        except MembershipRefused as refusal:
            messages.error(request, str(refusal))
        else:
            if done is None:
                raise Http404
            messages.success(
                request, _DONE[form.cleaned_data["action"]]() % {"name": done.user.get_full_name()}
            )
    return redirect(
        "organizations:members" if back else "organizations:requests", pk=organization.pk
    )


_DONE: dict[str, Callable[[], str]] = {
    "accept": lambda: _("%(name)s now acts for the organization and was told by e-mail."),
    "reject": lambda: _("The request of %(name)s was rejected; they were told by e-mail."),
    "cancel": lambda: _("%(name)s no longer acts for the organization and was told by e-mail."),
    "revert_rejection": lambda: _("The request of %(name)s is pending again."),
}


@administrators_only
@require_POST
def change_role(request: HttpRequest, organization: Organization, membership: int) -> HttpResponse:
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            changed = flows.change_role(
                user=_person(request),
                client=ClientInfo.from_request(request),
                organization=organization,
                membership_id=membership,
                role=form.cleaned_data["role"],
            )
        except MembershipRefused as refusal:
            messages.error(request, str(refusal))
        else:
            if changed is None:
                raise Http404
            if changed:
                messages.success(request, _("The role was changed; the person was told by e-mail."))
    if not selectors.administered(_person(request), organization.pk):
        return redirect("organizations:list")  # stepped down: the page is no longer theirs
    return redirect("organizations:members", pk=organization.pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def choose(request: HttpRequest) -> HttpResponse:
    """ "¿Con cuál cuenta desea ingresar?": after signing in, or to switch from the header."""
    user = _person(request)
    choices = selectors.choices_of(user)
    in_sign_in = steps.DESTINATION in request.session
    if request.method == "POST":
        form = ChooseForm(request.POST)
        changed = (
            flows.choose_by_id(
                user=user,
                client=ClientInfo.from_request(request),
                sid=session_sid(request),
                membership_id=form.cleaned_data["membership"],
            )
            if form.is_valid()
            else None
        )
        if changed is not None:
            if in_sign_in:
                return steps.proceed(request)
            acting = selectors.acting_for(session_sid(request))
            if changed and acting is not None:
                messages.success(
                    request, _("You now act for %(name)s.") % {"name": acting.organization.name}
                )
            return redirect("accounts:home")
        messages.error(request, _("Choose one of the organizations in the list."))
    acting = selectors.acting_for(session_sid(request))
    return render(
        request,
        "organizations/choose.html",
        {
            "choices": choices,
            "acting": acting,
            "in_sign_in": in_sign_in,
            "destination": steps.destination_of(request),
        },
    )
