"""HTTP adapters for signing in, the signed-in pages and the password strength meter."""

from __future__ import annotations

from dataclasses import asdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from portero.accounts import flows, selectors, steps
from portero.accounts.forms import (
    ChangePasswordForm,
    LanguageForm,
    NotificationsForm,
    PasswordStrengthForm,
    SignInForm,
)
from portero.accounts.models import User
from portero.accounts.validators import password_assessment
from portero.core import clock, ratelimit
from portero.core.client import ClientInfo
from portero.core.client_ip import client_ip
from portero.core.headers import form_targets_allow


def _safe_next(request: HttpRequest) -> str | None:
    """Return the `next` target if it is a path on this site (LI4)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts=None, require_https=request.is_secure()
    ):
        return target
    return None


def _refusal_message(attempt: flows.SignInAttempt) -> str:
    """Say why a sign-in failed, revealing nothing about the account (LI1)."""
    if attempt.locked:
        return _(
            "Sign-in with this username is stopped after too many failed attempts. Choose "
            "a new password with “Forgot your password?” to sign in again."
        )
    if attempt.wait_until is not None:
        seconds = max(int((attempt.wait_until - clock.now()).total_seconds()) + 1, 1)
        wait = (
            ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
            if seconds < 90
            else ngettext("%(count)d minute", "%(count)d minutes", -(-seconds // 60))
            % {"count": -(-seconds // 60)}
        )
        return _(
            "Too many failed attempts with this username. Wait %(wait)s and try again, "
            "or recover your password now with “Forgot your password?”."
        ) % {"wait": wait}
    if attempt.address_limited:
        return _("Too many failed sign-ins from your network. Wait a few minutes and try again.")
    return _("The username or password is not correct.")


@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SignInForm(request.POST)
        if form.is_valid():
            attempt = flows.sign_in(
                request,
                client=ClientInfo.from_request(request),
                **form.cleaned_data,
                destination=_safe_next(request),
            )
            if attempt.second_step:
                return redirect("factors:second_step")
            if attempt.user is not None:
                waiting = flows.return_to_take(request)  # a portal waiting for this sign-in
                return steps.begin(request, _safe_next(request) or waiting)
            form.add_error(None, _refusal_message(attempt))
    else:
        form = SignInForm()
    pending = flows.return_to(request)
    response = render(
        request,
        "accounts/sign_in.html",
        {"form": form, "next": _safe_next(request), "pending": pending},
    )
    return form_targets_allow(response, str(pending.get("origin", ""))) if pending else response


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    flows.sign_out(request, client=ClientInfo.from_request(request))
    messages.info(request, _("You have signed out."))
    return redirect("accounts:sign_in")


@login_required
@require_http_methods(["GET", "HEAD"])
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/home.html")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def change_password(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    posted, client = request.method == "POST", ClientInfo.from_request(request)
    throttled = posted and flows.reauth_refused(user=user, client=client)
    form = ChangePasswordForm(user, request.POST if posted else None, throttled=throttled)
    if posted and not throttled and "current_password" in form.errors:
        flows.reauth_failed(user=user, client=client)  # counts like a failed sign-in (CP1)
    if form.is_valid():
        flows.change_password(
            request, client=client, user=user, new_password=form.cleaned_data["new_password1"]
        )
        messages.success(
            request,
            _(
                "Your password was changed. Your other sessions were closed and we sent you an "
                "e-mail about it."
            ),
        )
        return redirect("accounts:home")
    return render(request, "accounts/change_password.html", {"form": form})


def _meter_reply(body: dict[str, object], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"  # a verdict on a password: never in any cache
    return response


@require_POST
def password_strength(request: HttpRequest) -> JsonResponse:
    """Judge the password being typed, for the strength meter (PW3). Never logs or keeps it.

    Signed in, the context words are the caller's own; on the reset page, the username it shows.
    """
    refused: dict[str, object] = {"score": 0, "ok": False, "label": "", "messages": []}
    if ratelimit.hit("password_meter", ip=client_ip(request)):
        return _meter_reply(refused, status=429)
    form = PasswordStrengthForm(request.POST)
    if not form.is_valid():  # too long: refused before any evaluation (PW1)
        reasons = [message for errors in form.errors.values() for message in errors]
        return _meter_reply({**refused, "messages": reasons}, status=400)
    user = request.user
    if not isinstance(user, User):
        user = User(username=form.cleaned_data["username"])  # context only; never saved
    return _meter_reply(asdict(password_assessment(form.cleaned_data["password"], user)))


@login_required
@require_http_methods(["GET", "HEAD"])
def history(request: HttpRequest) -> HttpResponse:
    """Historial de accesos: the latest sign-ins and security events of this account."""
    user = request.user
    assert isinstance(user, User)
    return render(request, "accounts/history.html", {"events": selectors.history_of(user)})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def sessions(request: HttpRequest) -> HttpResponse:
    """Active sessions, with "close the other sessions"."""
    user = request.user
    assert isinstance(user, User)
    if request.method == "POST":
        ended = flows.end_other_sessions(
            user=user,
            client=ClientInfo.from_request(request),
            keep_session_key=request.session.session_key,
        )
        messages.success(
            request,
            ngettext(
                "%(count)d other session was closed.",
                "%(count)d other sessions were closed.",
                ended,
            )
            % {"count": ended},
        )
        return redirect("accounts:sessions")
    return render(
        request,
        "accounts/sessions.html",
        {"sessions": selectors.sessions_of(user, current=request.session.session_key or "")},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    """Optional notices; security e-mails always go."""
    user = request.user
    assert isinstance(user, User)
    form = NotificationsForm(
        request.POST if request.method == "POST" else None,
        initial={"notify_new_device": user.notify_new_device},
    )
    if form.is_valid():
        flows.change_notifications(
            user=user, client=ClientInfo.from_request(request), **form.cleaned_data
        )
        messages.success(request, _("Your notification settings were saved."))
        return redirect("accounts:notifications")
    return render(request, "accounts/notifications.html", {"form": form})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def language(request: HttpRequest) -> HttpResponse:
    """The language of the owner's pages and e-mails, saved on the account."""
    user = request.user
    assert isinstance(user, User)
    form = LanguageForm(
        request.POST if request.method == "POST" else None,
        initial={"language": user.preferred_language(translation.get_language())},
    )
    if form.is_valid():
        flows.choose_language(
            user=user,
            client=ClientInfo.from_request(request),
            language=form.cleaned_data["language"],
        )
        translation.activate(user.language)  # the confirmation, already in the new language
        messages.success(request, _("Your language was saved."))
        return redirect("accounts:language")  # the browser's cookie: AccountLanguageMiddleware
    return render(request, "accounts/language.html", {"form": form})


@require_http_methods(["GET", "HEAD", "POST"])
def switch_language(request: HttpRequest) -> HttpResponse:
    """The header's language switch (Django's `set_language`); signed in, it is saved on the
    account too."""
    response = set_language(request)
    form = LanguageForm(request.POST) if request.method == "POST" else None
    if form is not None and form.is_valid() and isinstance(request.user, User):
        flows.choose_language(
            user=request.user,
            client=ClientInfo.from_request(request),
            language=form.cleaned_data["language"],
        )
    return response
